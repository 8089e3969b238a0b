// Closed-loop throughput/latency runs with autocannon (same settings for every peer).
import autocannon from 'autocannon';

/** One autocannon run; resolves { rps, p50_ms, p99_ms, ... } and fails loudly on errors. */
export async function cannon(url, { connections, durationS }) {
  const r = await autocannon({ url, connections, duration: durationS, pipelining: 1, timeout: 10 });
  return {
    url,
    connections,
    duration_s: durationS,
    rps: r.requests.average,
    total: r.requests.total,
    p50_ms: r.latency.p50,
    p90_ms: r.latency.p90,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    mean_ms: r.latency.average,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}
