export interface ReleaseStats {
  release: string;
  /** Attempts sent to this release's backends, including those that failed to connect. */
  requests: number;
  /** Upstream 5xx responses, plus 502s for failures after the request reached the app. */
  errors5xx: number;
  /** Connection refused/reset before the app answered (the request was retried elsewhere when possible). */
  connectErrors: number;
  inflight: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** (errors5xx + connectErrors) / max(requests, 1) */
  errorRate: number;
}

export const LATENCY_WINDOW = 2048;

/** Bounded ring of the most recent latencies; percentiles are computed on demand. */
export class LatencyRing {
  private readonly buf: Float64Array;
  private count = 0;
  private next = 0;

  constructor(size = LATENCY_WINDOW) {
    this.buf = new Float64Array(size);
  }

  add(ms: number): void {
    this.buf[this.next] = ms;
    this.next = this.next + 1 === this.buf.length ? 0 : this.next + 1;
    if (this.count < this.buf.length) this.count++;
  }

  clear(): void {
    this.count = 0;
    this.next = 0;
  }

  /** Nearest-rank percentiles, e.g. percentiles([0.5, 0.99]); 0 when empty. */
  percentiles(ps: readonly number[]): number[] {
    if (this.count === 0) return ps.map(() => 0);
    const sorted = this.buf.slice(0, this.count).sort();
    return ps.map((p) => sorted[Math.min(this.count - 1, Math.max(0, Math.ceil(p * this.count) - 1))]!);
  }
}

/** Live counters for one release. Mutated in place on the hot path. */
export class ReleaseCounters {
  requests = 0;
  errors5xx = 0;
  connectErrors = 0;
  inflight = 0;
  readonly latencies = new LatencyRing();

  constructor(readonly release: string) {}

  /** Resets counts and latencies; in-flight is a gauge and is kept. */
  reset(): void {
    this.requests = 0;
    this.errors5xx = 0;
    this.connectErrors = 0;
    this.latencies.clear();
  }

  snapshot(): ReleaseStats {
    const [p50, p90, p99] = this.latencies.percentiles([0.5, 0.9, 0.99]);
    return {
      release: this.release,
      requests: this.requests,
      errors5xx: this.errors5xx,
      connectErrors: this.connectErrors,
      inflight: this.inflight,
      p50Ms: round3(p50!),
      p90Ms: round3(p90!),
      p99Ms: round3(p99!),
      errorRate: (this.errors5xx + this.connectErrors) / Math.max(this.requests, 1),
    };
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
