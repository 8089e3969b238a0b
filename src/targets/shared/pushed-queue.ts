/**
 * Items pushed by callbacks (file followers, streams) read back as an async iterable that
 * ends when the caller's signal aborts: the shape every `logs -f` reader has.
 */
export class PushedQueue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private readonly ac = new AbortController();

  constructor(outer?: AbortSignal) {
    if (outer?.aborted) this.stop();
    else outer?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Aborts when the caller's signal does or the reader stops: hand it to the followers. */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  readonly push = (item: T): void => {
    this.items.push(item);
    this.wake?.();
  };

  stop(): void {
    this.ac.abort();
    this.wake?.();
  }

  async *drain(): AsyncIterable<T> {
    try {
      while (!this.ac.signal.aborted) {
        if (this.items.length === 0) await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        while (this.items.length) yield this.items.shift()!;
      }
    } finally {
      this.stop();
    }
  }
}
