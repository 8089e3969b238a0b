// Open-loop load: requests leave at a fixed rate whatever the answers do
// (a slow or failing server does not slow the client down), each bounded by a
// timeout. Counts 2xx, non-2xx and network errors, with when they happened.
import { Pool } from 'undici';
import { now, percentile } from './timing.js';

/**
 * startLoad({ url, rate }) begins at once; `await load.stop()` stops sending,
 * waits (bounded) for what is in flight and returns the summary.
 */
export function startLoad({ url, rate = 200, path = '/', connections = 256, timeoutMs = 10_000, tickMs = 2 }) {
  const origin = new URL(url).origin;
  const pool = new Pool(origin, { connections, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs, connectTimeout: timeoutMs });
  const t0 = now();
  const epoch = Date.now();
  const counts = { sent: 0, ok: 0, non2xx: 0, errors: 0 };
  const byStatus = {};
  const byError = {};
  const failures = []; // { at (epoch ms when sent), what }
  const latencies = [];
  let inflight = 0;
  let stopped = false;
  let idle;

  const one = async (scheduledAt) => {
    inflight++;
    let what;
    try {
      const res = await pool.request({ path, method: 'GET', signal: AbortSignal.timeout(timeoutMs) });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) counts.ok++;
      else {
        counts.non2xx++;
        what = `HTTP ${res.statusCode}`;
        byStatus[res.statusCode] = (byStatus[res.statusCode] ?? 0) + 1;
      }
    } catch (err) {
      counts.errors++;
      what = err.code ?? err.name ?? 'error';
      byError[what] = (byError[what] ?? 0) + 1;
    }
    // Latency from when the request was due (no coordinated omission).
    latencies.push(now() - scheduledAt);
    if (what && failures.length < 5000) failures.push({ at: epoch + (scheduledAt - t0), what });
    inflight--;
    if (stopped && inflight === 0) idle?.();
  };

  const timer = setInterval(() => {
    const due = Math.floor(((now() - t0) * rate) / 1000);
    while (counts.sent < due) {
      const scheduledAt = t0 + (counts.sent * 1000) / rate;
      counts.sent++;
      void one(scheduledAt);
    }
  }, tickMs);

  return {
    snapshot: () => ({ ...counts, failed: counts.non2xx + counts.errors }),
    async stop() {
      clearInterval(timer);
      stopped = true;
      const durationS = (now() - t0) / 1000;
      if (inflight > 0) {
        await Promise.race([new Promise((r) => (idle = r)), new Promise((r) => setTimeout(r, timeoutMs + 1000))]);
      }
      const unfinished = inflight;
      await pool.destroy().catch(() => {});
      return {
        url,
        rate,
        duration_s: Math.round(durationS * 10) / 10,
        ...counts,
        unfinished,
        failed: counts.non2xx + counts.errors + unfinished,
        by_status: byStatus,
        by_error: byError,
        latency_ms: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.reduce((a, b) => Math.max(a, b), 0)) },
        failures,
      };
    },
  };
}

const round = (x) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
