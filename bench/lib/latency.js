// Sequential (c=1) request loop with sub-millisecond timing: autocannon reports
// whole milliseconds, too coarse for a loopback hop.
import { Pool } from 'undici';
import { now, percentile } from './timing.js';

export async function sequentialLatency(url, { durationS, maxRequests = 200_000 }) {
  const pool = new Pool(new URL(url).origin, { connections: 1, headersTimeout: 5000, bodyTimeout: 5000 });
  const lat = [];
  let errors = 0;
  const end = now() + durationS * 1000;
  try {
    while (now() < end && lat.length + errors < maxRequests) {
      const t = now();
      try {
        const res = await pool.request({ path: '/', method: 'GET' });
        await res.body.dump();
        if (res.statusCode !== 200) errors++;
        else lat.push(now() - t);
      } catch {
        errors++;
      }
    }
  } finally {
    await pool.destroy().catch(() => {});
  }
  const r = (x) => Math.round(x * 1000) / 1000;
  return { url, requests: lat.length, errors, rps: Math.round(lat.length / durationS), p50_ms: r(percentile(lat, 50)), p90_ms: r(percentile(lat, 90)), p99_ms: r(percentile(lat, 99)) };
}
