/** Exponential restart delay: initial, 2x, 4x ... capped at max; a long enough run starts over. */
export class Backoff {
  /** Consecutive crashes counted so far (1 after the first crash). */
  attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly resetAfterMs: number,
  ) {}

  /** Delay before the next restart, given how long the process ran before it exited. */
  next(ranForMs: number): number {
    if (ranForMs >= this.resetAfterMs) this.attempt = 0;
    const delay = Math.min(this.initialMs * 2 ** this.attempt, this.maxMs);
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }
}
