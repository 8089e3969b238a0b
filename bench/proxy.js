// 3. Proxy overhead: autocannon through Gantry's proxy (the access URL) ÷ direct
// to the same app instance, with peers in the same run: a minimal Node proxy,
// nginx and HAProxy (both from Debian, installed when missing). Peers run in
// turns, round after round, so a machine shared with other work hurts them alike.
// CPU time per request: /proc/<pid>/stat of each proxy's processes around its c=32 runs.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './lib/app.js';
import { cannon } from './lib/cannon.js';
import { cpuMs, processTree } from './lib/cpu.js';
import { gantry, makeApp } from './lib/gantry.js';
import { startHaproxy } from './lib/haproxy.js';
import { sequentialLatency } from './lib/latency.js';
import { startNginx } from './lib/nginx.js';
import { ensureProxyPeers, startNodePeer } from './lib/peers.js';
import { median, ratio } from './lib/timing.js';

const d2 = (x) => Math.round(x * 100) / 100;
/** The app's route that answers after 5 ms of waiting (examples/hello-node). */
const SLOW_PATH = '/sleep?ms=5';

/** The agent's pid and its instances' pids, from the app's .gantry records. */
function agentPids(app) {
  const root = join(app.dir, '.gantry', 'apps');
  const out = { agent: undefined, instances: [] };
  if (!existsSync(root)) return out;
  for (const a of readdirSync(root)) {
    const agents = join(root, a, 'agents');
    if (!existsSync(agents)) continue;
    for (const t of readdirSync(agents)) {
      try {
        out.agent ??= JSON.parse(readFileSync(join(agents, t, 'agent.json'), 'utf8')).pid;
        for (const i of JSON.parse(readFileSync(join(agents, t, 'state.json'), 'utf8')).instances ?? []) if (i.pid) out.instances.push(i.pid);
      } catch {
        /* not written yet */
      }
    }
  }
  return out;
}

export async function benchProxy({ quick, log }) {
  const rounds = quick ? 1 : 2;
  const loadS = quick ? 3 : 5;
  const latS = quick ? 2 : 3;
  const seqS = quick ? 1 : 2;
  const slowS = quick ? 2 : 4;
  const connections = 32;
  const app = makeApp({ name: 'proxy' });
  const started = [];
  try {
    const bins = await ensureProxyPeers(log);
    const r = await gantry(app, ['deploy']);
    if (r.json?.status !== 'succeeded') throw new Error(`deploy failed: ${r.stdout || r.stderr}`);
    const st = await gantry(app, ['status']);
    const t = st.json?.targets?.[0];
    const direct = t?.instances?.find((i) => i.healthy)?.url;
    if (!t?.url || !direct) throw new Error(`no access URL or instance URL in gantry status: ${st.stdout}`);
    const upstreamPort = Number(new URL(direct).port);
    const pids = agentPids(app);

    const peers = { direct, gantry: t.url };
    // Which processes each proxy's CPU time is read from (the agent without the app it supervises).
    const cpuOf = { gantry: () => (pids.agent ? processTree(pids.agent, pids.instances) : []) };
    const node = await startNodePeer(await freePort(), upstreamPort);
    started.push(node);
    peers['node-proxy'] = node.url;
    cpuOf['node-proxy'] = () => [node.pid];
    const notes = {};
    for (const [name, start] of [
      ['nginx', startNginx],
      ['haproxy', startHaproxy],
    ]) {
      const bin = bins[name];
      if (typeof bin !== 'string') {
        notes[name] = bin.missing;
        log(`  ${bin.missing}`);
        continue;
      }
      try {
        const p = await start(bin, join(app.base, name), await freePort(), upstreamPort);
        started.push(p);
        peers[name] = p.url;
        cpuOf[name] = () => processTree(p.pid);
        notes[name] = `${name} at ${bin}`;
      } catch (err) {
        notes[name] = `${name} could not run (${err.message}): peer skipped`;
        log(`  ${notes[name]}`);
      }
    }

    const out = { connections, rounds, load_s: loadS, latency_s: latS, sequential_s: seqS, slow_s: slowS, slow_path: SLOW_PATH, urls: peers, peers_note: notes, load: {}, latency: {}, sequential: {}, slow: {}, cpu_us_per_request: {}, rounds_detail: [] };
    // Warm-up (JIT, keep-alive pools), then the same runs for every peer.
    for (const url of Object.values(peers)) await cannon(url, { connections, durationS: 1 });
    const perRound = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of Object.entries(peers)) {
        const pidsNow = cpuOf[name]?.() ?? [];
        const c0 = cpuMs(pidsNow);
        const res = await cannon(url, { connections, durationS: loadS });
        res.cpu_ms = cpuOf[name] ? d2(cpuMs(pidsNow) - c0) : undefined;
        (perRound[name] ??= []).push(res);
        log(`  c=${connections} ${name.padEnd(10)} ${Math.round(res.rps)} req/s, p50 ${res.p50_ms} ms, p99 ${res.p99_ms} ms${res.cpu_ms !== undefined ? `, ${Math.round((res.cpu_ms * 1000) / Math.max(res.total, 1))} µs CPU/req` : ''}`);
      }
    }
    for (const [name, runs] of Object.entries(perRound)) {
      // The round with the median throughput (of two, the slower) stands for the peer; CPU per request over all rounds.
      const sorted = [...runs].sort((a, b) => a.rps - b.rps);
      out.load[name] = { ...sorted[Math.floor((sorted.length - 1) / 2)], rps_rounds: runs.map((x) => Math.round(x.rps)) };
      if (cpuOf[name]) out.cpu_us_per_request[name] = Math.round((runs.reduce((s, x) => s + x.cpu_ms, 0) * 1000) / Math.max(1, runs.reduce((s, x) => s + x.total, 0)));
    }
    for (let round = 0; round < rounds; round++) {
      for (const [name, url] of Object.entries(peers)) {
        const res = await cannon(url, { connections: 1, durationS: latS });
        (out.latency[name] ??= []).push(res);
        log(`  c=1  ${name.padEnd(10)} ${Math.round(res.rps)} req/s, p50 ${res.p50_ms} ms, p99 ${res.p99_ms} ms`);
      }
    }
    for (const [name, runs] of Object.entries(out.latency)) out.latency[name] = { ...runs[0], rps: median(runs.map((x) => x.rps)), rps_rounds: runs.map((x) => Math.round(x.rps)) };
    for (const [name, url] of Object.entries(peers)) {
      out.sequential[name] = await sequentialLatency(url, { durationS: seqS });
      log(`  seq  ${name.padEnd(10)} p50 ${out.sequential[name].p50_ms} ms, p99 ${out.sequential[name].p99_ms} ms`);
    }
    // An app that takes 5 ms a request (waiting, not computing): what a proxy costs a real app.
    for (const [name, url] of Object.entries(peers)) {
      if (name === 'node-proxy') continue;
      out.slow[name] = await cannon(`${url}${SLOW_PATH}`, { connections, durationS: slowS });
      log(`  5 ms app c=${connections} ${name.padEnd(10)} ${Math.round(out.slow[name].rps)} req/s, p99 ${out.slow[name].p99_ms} ms`);
    }
    out.throughput_ratio = ratio(out.load.gantry.rps, out.load.direct.rps);
    out.slow_ratio = ratio(out.slow.gantry.rps, out.slow.direct.rps);
    out.slow_p99_delta_ms = d2(out.slow.gantry.p99_ms - out.slow.direct.p99_ms);
    out.p99_delta_ms = d2(out.load.gantry.p99_ms - out.load.direct.p99_ms);
    out.c1_p50_delta_ms = d2(out.sequential.gantry.p50_ms - out.sequential.direct.p50_ms);
    out.c1_p99_delta_ms = d2(out.sequential.gantry.p99_ms - out.sequential.direct.p99_ms);
    out.peer_throughput_ratio = {};
    for (const [name, v] of Object.entries(out.load)) if (name !== 'direct') out.peer_throughput_ratio[name] = ratio(v.rps, out.load.direct.rps);
    out.gantry_vs_node_proxy = ratio(out.load.gantry.rps, out.load['node-proxy'].rps);
    // Gantry ÷ each server proxy, at c=32 and c=1 (goal ≥ 1.0).
    out.gantry_vs = {};
    for (const peer of ['nginx', 'haproxy']) {
      if (!out.load[peer]) continue;
      out.gantry_vs[peer] = { c32: ratio(out.load.gantry.rps, out.load[peer].rps), c1: ratio(out.latency.gantry.rps, out.latency[peer].rps) };
    }
    return out;
  } finally {
    for (const p of started.reverse()) await p.stop();
    await app.cleanup();
  }
}
