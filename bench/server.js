// The control-plane server (issue 18): GET /api/v1/deployments/{id} under autocannon
// (the server pinned to one core when taskset exists; goal ≥ 5,000 req/s, p99 < 20 ms),
// a deploy through the API vs the engine's own duration_ms (goal ≤ 1.15x), and the
// server's RSS with 10,000 apps registered (goal < 200 MB).
import { execFileSync, spawn } from 'node:child_process';
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

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

export async function benchServer({ quick, log }) {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'gantry-bench-server-')), 'data');
  const token = key(dataDir);
  const srv = await startServer(dataDir);
  const app = makeApp({ name: 'server' });
  let name;
  try {
    await call(srv.url, token, 'POST', '/api/v1/projects', { id: 'bench', max_apps: 20_000 });
    const reg = await call(srv.url, token, 'POST', '/api/v1/projects/bench/apps', { manifest_path: app.manifest });
    if (reg.status !== 201) throw new Error(`registering the app: ${JSON.stringify(reg.body)}`);
    name = reg.body.name;

    // Deploys through the API: wall time from POST to the job's end vs the engine's duration_ms.
    const runs = quick ? 2 : 4;
    const deploys = [];
    for (let i = 0; i < runs; i++) {
      checkAborted();
      bumpApp(app);
      const t0 = now();
      const d = await call(srv.url, token, 'POST', `/api/v1/apps/${name}/deployments`, {});
      const done = await waitFinal(srv.url, token, d.body.id);
      const wall = now() - t0;
      if (done.status !== 'succeeded') throw new Error(`deploy ${i + 1} through the API: ${done.status} ${done.error ?? ''}`);
      deploys.push({ wall_ms: wall, engine_ms: done.result.duration_ms });
      log(`  API deploy ${i + 1}/${runs}: ${Math.round(wall)} ms (engine ${done.result.duration_ms} ms)`);
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
      api_deploy: { wall_ms: summarize(deploys.map((d) => d.wall_ms)), engine_ms: summarize(deploys.map((d) => d.engine_ms)), runs: deploys },
      api_deploy_ratio: ratio(median(deploys.map((d) => d.wall_ms)), median(deploys.map((d) => d.engine_ms))),
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
    const agents = join(dataDir, 'engine', 'apps', String(name), 'agents');
    for (const t of existsSync(agents) ? readdirSync(agents) : []) {
      try {
        await killPid(JSON.parse(readFileSync(join(agents, t, 'agent.json'), 'utf8')).pid, { graceMs: 2000 });
      } catch {
        /* gone already */
      }
    }
    await app.cleanup();
  }
}
