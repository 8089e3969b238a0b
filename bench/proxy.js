// 3. Proxy overhead: autocannon through Gantry's proxy (the access URL) ÷ direct
// to the same app instance; peers: a minimal Node proxy (always) and nginx (when installed).
import { freePort } from './lib/app.js';
import { cannon } from './lib/cannon.js';
import { gantry, makeApp } from './lib/gantry.js';
import { sequentialLatency } from './lib/latency.js';
import { nginxPath, startNginx } from './lib/nginx.js';
import { startNodePeer } from './lib/peers.js';
import { ratio } from './lib/timing.js';

const d2 = (x) => Math.round(x * 100) / 100;

export async function benchProxy({ quick, log }) {
  const loadS = quick ? 3 : 10;
  const latS = quick ? 2 : 5;
  const seqS = quick ? 1 : 3;
  const connections = 32;
  const app = makeApp({ name: 'proxy' });
  const started = [];
  try {
    const r = await gantry(app, ['deploy']);
    if (r.json?.status !== 'succeeded') throw new Error(`deploy failed: ${r.stdout || r.stderr}`);
    const st = await gantry(app, ['status']);
    const t = st.json?.targets?.[0];
    const direct = t?.instances?.find((i) => i.healthy)?.url;
    if (!t?.url || !direct) throw new Error(`no access URL or instance URL in gantry status: ${st.stdout}`);
    const upstreamPort = Number(new URL(direct).port);

    const peers = { direct, gantry: t.url };
    const node = await startNodePeer(await freePort(), upstreamPort);
    started.push(node);
    peers['node-proxy'] = node.url;
    const bin = nginxPath();
    let nginxNote = `nginx at ${bin}`;
    if (bin) {
      const nginx = await startNginx(bin, `${app.base}/nginx`, await freePort(), upstreamPort);
      started.push(nginx);
      peers.nginx = nginx.url;
    } else {
      nginxNote = 'nginx not installed: peer skipped';
      log(`  ${nginxNote}`);
    }

    const out = { connections, load_s: loadS, latency_s: latS, sequential_s: seqS, urls: peers, nginx: nginxNote, load: {}, latency: {}, sequential: {} };
    // Warm-up (JIT, keep-alive pools), then the same runs for every peer.
    for (const url of Object.values(peers)) await cannon(url, { connections, durationS: 1 });
    for (const [name, url] of Object.entries(peers)) {
      out.load[name] = await cannon(url, { connections, durationS: loadS });
      log(`  c=${connections} ${name.padEnd(10)} ${Math.round(out.load[name].rps)} req/s, p50 ${out.load[name].p50_ms} ms, p99 ${out.load[name].p99_ms} ms`);
    }
    for (const [name, url] of Object.entries(peers)) {
      out.latency[name] = await cannon(url, { connections: 1, durationS: latS });
      log(`  c=1  ${name.padEnd(10)} ${Math.round(out.latency[name].rps)} req/s, p50 ${out.latency[name].p50_ms} ms, p99 ${out.latency[name].p99_ms} ms`);
    }
    for (const [name, url] of Object.entries(peers)) {
      out.sequential[name] = await sequentialLatency(url, { durationS: seqS });
      log(`  seq  ${name.padEnd(10)} p50 ${out.sequential[name].p50_ms} ms, p99 ${out.sequential[name].p99_ms} ms`);
    }
    out.throughput_ratio = ratio(out.load.gantry.rps, out.load.direct.rps);
    out.p99_delta_ms = d2(out.load.gantry.p99_ms - out.load.direct.p99_ms);
    out.c1_p50_delta_ms = d2(out.sequential.gantry.p50_ms - out.sequential.direct.p50_ms);
    out.c1_p99_delta_ms = d2(out.sequential.gantry.p99_ms - out.sequential.direct.p99_ms);
    out.peer_throughput_ratio = {};
    for (const [name, v] of Object.entries(out.load)) if (name !== 'direct') out.peer_throughput_ratio[name] = ratio(v.rps, out.load.direct.rps);
    out.gantry_vs_node_proxy = ratio(out.load.gantry.rps, out.load['node-proxy'].rps);
    return out;
  } finally {
    for (const p of started.reverse()) await p.stop();
    await app.cleanup();
  }
}
