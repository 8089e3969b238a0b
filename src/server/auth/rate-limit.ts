/** Failed authentications per client address in a sliding window: past the limit, 429 until it passes. */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  private recent(ip: string, now: number): number[] {
    const list = (this.failures.get(ip) ?? []).filter((t) => now - t < this.windowMs);
    if (list.length) this.failures.set(ip, list);
    else this.failures.delete(ip);
    return list;
  }

  /** Seconds until the address may try again, or 0. */
  blockedFor(ip: string): number {
    const now = Date.now();
    const list = this.recent(ip, now);
    if (list.length < this.limit) return 0;
    return Math.max(1, Math.ceil((list[0]! + this.windowMs - now) / 1000));
  }

  fail(ip: string): void {
    const now = Date.now();
    if (this.failures.size > 100_000) this.failures.clear();
    this.failures.set(ip, [...this.recent(ip, now), now]);
  }
}
