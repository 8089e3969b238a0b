// An API deploy's duration with the engine's state on SQLite (the data dir) and on PostgreSQL
// (`--database postgres://…`): a fresh server each, hello-node on the process target (1 instance,
// rolling, watch 0), a first deploy then redeploys of a changed env; the job's duration_ms as the
// server records it (claim to end). Needs `npm run build` and the test PostgreSQL.
//   node bench/server-store-deploy.js [redeploys=5]
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createScratchDatabase } from './lib/pg-database.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const N = Number(process.argv[2] ?? 5);
async function startServer(dataDir, database) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/gantry.js'), 'server', '--data-dir', dataDir, '--port', '0', '--init-admin', '--log-level', 'warn', ...(database ? ['--database', database] : [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const token = /admin key \(shown once, store it now\): (\S+)/.exec(out)?.[1];
    if (url && token) return { child, url, token };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function api(s, method, path, body) {
  const r = await fetch(s.url + path, { method, headers: { authorization: `Bearer ${s.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, body: await r.json().catch(() => undefined) };
}

async function deploy(s, app) {
  const id = (await api(s, 'POST', `/api/v1/apps/${app}/deployments`, {})).body.id;
  for (let i = 0; i < 2400; i++) {
    const d = (await api(s, 'GET', `/api/v1/deployments/${id}`)).body;
    if (['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(d.status)) {
      if (d.status !== 'succeeded') throw new Error(JSON.stringify(d));
      return d.duration_ms;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`deployment ${id} did not end`);
}

function killAgents(dataDir) {
  const appsDir = join(dataDir, 'engine', 'apps');
  for (const app of readdirSync(appsDir, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const agents = join(appsDir, app.name, 'agents');
    for (const t of readdirSync(agents)) {
      try {
        process.kill(JSON.parse(readFileSync(join(agents, t, 'agent.json'), 'utf8')).pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const store of ['sqlite', 'postgres']) {
  const work = mkdtempSync(join(tmpdir(), `gantry-bench-srv-${store}-`));
  const dataDir = join(work, 'data');
  const app = `bench-store-${store}`;
  const src = join(work, 'app');
  cpSync(join(ROOT, 'examples/hello-node'), src, { recursive: true, filter: (p) => !p.includes('.gantry') });
  const manifest = (v) => writeFileSync(join(src, 'gantry.yaml'), [`app: ${app}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms }', `env: { GREETING: "v${v}" }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
  manifest(0);
  const dbName = `gantry_bench_srv_${process.pid}`;
  const scratch = store === 'postgres' ? await createScratchDatabase(dbName) : undefined;
  const database = scratch?.url;
  const s = await startServer(dataDir, database);
  try {
    await api(s, 'POST', '/api/v1/projects', { id: 'bench' });
    const reg = await api(s, 'POST', '/api/v1/projects/bench/apps', { manifest_path: join(src, 'gantry.yaml') });
    if (reg.status >= 300) throw new Error(JSON.stringify(reg));
    const first = await deploy(s, app);
    const again = [];
    for (let i = 1; i <= N; i++) {
      manifest(i);
      again.push(await deploy(s, app));
    }
    results[store] = { first_ms: first, redeploy_median_ms: median(again), redeploys_ms: again };
  } finally {
    s.child.kill('SIGTERM');
    await new Promise((r) => s.child.once('exit', r));
    try {
      killAgents(dataDir);
    } catch {
      /* none */
    }
    await scratch?.drop();
    rmSync(work, { recursive: true, force: true });
  }
}
console.log(JSON.stringify(results, null, 2));
console.log(`redeploy median, PostgreSQL store ÷ SQLite store: ${(results.postgres.redeploy_median_ms / results.sqlite.redeploy_median_ms).toFixed(2)}`);
