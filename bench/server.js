// The control-plane server (issue 18): GET /api/v1/deployments/{id} under autocannon
// (the server pinned to one core when taskset exists; goal ≥ 5,000 req/s, p99 < 20 ms),
// a deploy through the API vs the engine's own deploy (goal ≤ 1.15x), and the
// server's RSS with 10,000 apps registered (goal < 200 MB).
//
// Both deploys are timed the same way, from the request to the deployment seen succeeded:
// through the API, from POST to the `end` event of its SSE stream; the engine's own, in a
// child process pinned like the server that holds one Engine (bench/lib/engine-deploys.js),
// from the call (manifest load included) to its result. Neither pays a CLI's start-up. The
// two alternate, one of each per run, after one warm-up of each (the first deploy starts
// the target's agent).
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { TextDecoder } from 'node:util';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { checkAborted, killPid, onCleanup } from './lib/cleanup.js';
import { GANTRY_BIN, ROOT, bumpApp, makeApp } from './lib/gantry.js';
import { median, now, ratio, summarize } from './lib/timing.js';

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

async function startServer(dataDir) {
  const argv = [GANTRY_BIN, 'server', '--data-dir', dataDir, '--port', '0', '--log-level', 'warn', '--auth-limit', '100000'];
  const child = hasTaskset ? spawn('taskset', ['-c', '0', process.execPath, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = onCleanup(`gantry server pid ${child.pid}`, () => killPid(child.pid, { graceMs: 5000 }));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!/listening on/.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url: /listening on (\S+)/.exec(out)[1], pid: child.pid, stop };
}

function key(dataDir) {
  return JSON.parse(execFileSync(process.execPath, [GANTRY_BIN, 'keys', 'create', '--role', 'admin', '--data-dir', dataDir, '--json'], { encoding: 'utf8' })).token;
}

async function call(base, token, method, path, body) {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json() };
}

async function waitFinal(base, token, id) {
  for (let i = 0; i < 1200; i++) {
    const r = await call(base, token, 'GET', `/api/v1/deployments/${id}`);
    if (['succeeded', 'failed', 'rolled_back'].includes(r.body.status)) return r.body;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error(`deployment ${id} did not finish`);
}

/** Follow the deployment's SSE stream to its `end` event: the status it ended with. */
async function followToEnd(base, token, id) {
  const res = await fetch(`${base}/api/v1/deployments/${id}/events`, { headers: { authorization: `Bearer ${token}` } });
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    const m = /event: end\ndata: (.*)\n/.exec(buf);
    if (m) {
      await res.body.cancel().catch(() => undefined);
      return JSON.parse(m[1]);
    }
  }
  throw new Error(`deployment ${id}: the event stream ended without its end`);
}

/** The engine's own deploys, in a child process pinned like the server (see bench/lib/engine-deploys.js). */
async function startEngineDeploys(dataDir, appDir) {
  const argv = [join(ROOT, 'bench', 'lib', 'engine-deploys.js'), dataDir, appDir];
  const child = hasTaskset ? spawn('taskset', ['-c', '0', process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = onCleanup(`engine bench pid ${child.pid}`, () => killPid(child.pid, { graceMs: 5000 }));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const l = await lines.next();
    if (l.done) throw new Error('the engine bench process ended');
    return JSON.parse(l.value);
  };
  await next();
  return {
    deploy: async () => {
      child.stdin.write('deploy\n');
      return next();
    },
    stop: async () => {
      child.stdin.write('stop\n');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      await stop();
    },
  };
}

async function killRecordedAgents(dataDir, app) {
  const agents = join(dataDir, 'engine', 'apps', String(app), 'agents');
  for (const t of existsSync(agents) ? readdirSync(agents) : []) {
    try {
      await killPid(JSON.parse(readFileSync(join(agents, t, 'agent.json'), 'utf8')).pid, { graceMs: 2000 });
    } catch {
      /* gone already */
    }
  }
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

export async function benchServer({ quick, log }) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'gantry-bench-server-')), 'data');
  const token = key(dataDir);
  const srv = await startServer(dataDir);
  const app = makeApp({ name: 'server' });
  const ownApp = makeApp({ name: 'server-engine', edit: (doc) => (doc.app = 'hello-node-engine') });
  const ownDataDir = join(mkdtempSync(join(tmpdir(), 'gantry-bench-engine-')), 'data');
  const engineDeploys = await startEngineDeploys(ownDataDir, ownApp.dir);
  let name;
  try {
    await call(srv.url, token, 'POST', '/api/v1/projects', { id: 'bench', max_apps: 20_000 });
    const reg = await call(srv.url, token, 'POST', '/api/v1/projects/bench/apps', { manifest_path: app.manifest });
    if (reg.status !== 201) throw new Error(`registering the app: ${JSON.stringify(reg.body)}`);
    name = reg.body.name;

    // Deploys through the API vs the engine's own, alternating (one warm-up of each first).
    const runs = quick ? 3 : 6;
    const deploys = [];
    for (let i = 0; i <= runs; i++) {
      checkAborted();
      const own = await engineDeploys.deploy();
      if (own.status !== 'succeeded') throw new Error(`the engine's own deploy ${i}: ${own.status} ${own.error ?? ''}`);
      bumpApp(app);
      const t0 = now();
      const d = await call(srv.url, token, 'POST', `/api/v1/apps/${name}/deployments`, {});
      const end = await followToEnd(srv.url, token, d.body.id);
      const wall = now() - t0;
      if (end.status !== 'succeeded') throw new Error(`deploy ${i} through the API: ${end.status} ${end.error ?? ''}`);
      const done = (await call(srv.url, token, 'GET', `/api/v1/deployments/${d.body.id}`)).body;
      if (i === 0) {
        log(`  warm-up: API ${Math.round(wall)} ms, engine ${Math.round(own.wall_ms)} ms`);
        continue;
      }
      deploys.push({ wall_ms: wall, engine_wall_ms: own.wall_ms, engine_ms: done.result.duration_ms });
      log(`  deploy ${i}/${runs}: API ${Math.round(wall)} ms, the engine's own ${Math.round(own.wall_ms)} ms (its recorded duration_ms: API ${done.result.duration_ms}, own ${own.engine_ms})`);
    }
    const lastId = (await call(srv.url, token, 'GET', `/api/v1/apps/${name}/deployments?limit=1`)).body.deployments[0].id;

    checkAborted();
    const durationS = quick ? 5 : 15;
    const r = await autocannon({ url: `${srv.url}/api/v1/deployments/${lastId}`, connections: 10, duration: durationS, headers: { authorization: `Bearer ${token}` }, timeout: 10 });
    const get = { rps: r.requests.average, p50_ms: r.latency.p50, p99_ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors, connections: 10, duration_s: durationS, pinned_to_one_core: hasTaskset };
    log(`  GET /deployments/{id}: ${Math.round(get.rps)} req/s, p99 ${get.p99_ms} ms${hasTaskset ? ' (server on one core)' : ''}`);

    // 10,000 apps registered (rows written directly: registering each through the API only adds the manifest check), then every list read.
    checkAborted();
    const { openServerDb } = await import(join(ROOT, 'dist', 'server', 'db', 'open.js'));
    const sdb = await openServerDb(join(dataDir, 'server.db'));
    const rows = Array.from({ length: 10_000 }, (_, i) => ({ name: `bench-app-${i}`, project_id: 'bench', manifest_path: app.manifest, manifest_text: null, source_dir: app.dir, created_at: new Date().toISOString() }));
    for (let i = 0; i < rows.length; i += 500) await sdb.db.insertInto('apps').values(rows.slice(i, i + 500)).execute();
    await sdb.close();
    const listed = await call(srv.url, token, 'GET', '/api/v1/apps');
    for (let i = 0; i < 20; i++) await call(srv.url, token, 'GET', `/api/v1/apps/bench-app-${i * 500}`);
    const rss = rssMb(srv.pid);
    log(`  RSS with ${listed.body.apps.length} apps registered: ${rss.toFixed(0)} MB`);

    return {
      get_deployment: get,
      api_deploy: { wall_ms: summarize(deploys.map((d) => d.wall_ms)), engine_wall_ms: summarize(deploys.map((d) => d.engine_wall_ms)), engine_ms: summarize(deploys.map((d) => d.engine_ms)), runs: deploys },
      api_deploy_ratio: ratio(median(deploys.map((d) => d.wall_ms)), median(deploys.map((d) => d.engine_wall_ms))),
      // The former figure: against the duration_ms the engine records (from its plan's start, so the engine's lock, reconcile and source hashing counted as the API's).
      api_deploy_ratio_vs_recorded: ratio(median(deploys.map((d) => d.wall_ms)), median(deploys.map((d) => d.engine_ms))),
      apps_registered: listed.body.apps.length,
      rss_mb: Math.round(rss),
    };
  } finally {
    // The server's engine runs the app: stop it there, then its agents (by the pids they recorded under the data dir).
    if (name) {
      const s = await call(srv.url, token, 'POST', `/api/v1/apps/${name}/stop`, {}).catch(() => undefined);
      if (s?.body?.id) await waitFinal(srv.url, token, s.body.id).catch(() => undefined);
    }
    await srv.stop();
    await engineDeploys.stop().catch(() => undefined);
    await killRecordedAgents(dataDir, name);
    await killRecordedAgents(ownDataDir, 'hello-node-engine');
    await ownApp.cleanup();
    await app.cleanup();
  }
}
