// Per-call latency of the engine's state store: the SQLite backend, the PostgreSQL backend
// (each call through the synckit worker thread, blocking), and a plain async pg query as the
// floor of one round trip to the same PostgreSQL. Needs `npm run build` (dist/) and the test PostgreSQL.
//   node bench/state-store.js [calls=3000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createScratchDatabase } from './lib/pg-database.js';
import { median, percentile } from './lib/timing.js';
import { SqliteStore } from '../dist/store/index.js';
import { PgStore } from '../dist/store/pg/pg-store.js';

const N = Number(process.argv[2] ?? 3000);
const dbName = `gantry_bench_${process.pid}`;
const p99 = (xs) => percentile(xs, 99);

function time(fn) {
  const out = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}

async function timeAsync(fn) {
  const out = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  return out;
}

function measure(store) {
  store.ensureTarget('bench', 'local', 'process');
  store.insertDeployment({ id: 'bench-d1', app: 'bench', target: 'local', targetType: 'process', kind: 'deploy', actor: 'bench' });
  const ev = { app: 'bench', target: 'local', deploymentId: 'bench-d1', level: 'info', message: 'a step did something', data: { ms: 12 } };
  time(() => store.getTarget('bench', 'local')); // warm-up
  return {
    insertEvent: time(() => store.insertEvent(ev)),
    getTarget: time(() => store.getTarget('bench', 'local')),
    getDeployment: time(() => store.getDeployment('bench-d1')),
  };
}

const scratch = await createScratchDatabase(dbName);
const url = scratch.url;
const dir = mkdtempSync(join(tmpdir(), 'gantry-bench-store-'));
try {
  const sqlite = new SqliteStore(join(dir, 'state.db'));
  const onSqlite = measure(sqlite);
  sqlite.close();
  const pgStore = new PgStore({ url: url.toString(), scratchDir: dir });
  const onPg = measure(pgStore);
  pgStore.close();
  const raw = new pg.Client({ connectionString: url.toString() });
  await raw.connect();
  await raw.query('SET search_path TO gantry_engine');
  const floor = await timeAsync(() => raw.query('SELECT * FROM targets WHERE app = $1 AND name = $2', ['bench', 'local']));
  await raw.end();
  const rows = [];
  for (const op of Object.keys(onSqlite)) rows.push({ op, sqlite_median_us: median(onSqlite[op]), pg_median_us: median(onPg[op]), pg_p99_us: p99(onPg[op]), ratio: +(median(onPg[op]) / median(onSqlite[op])).toFixed(1) });
  rows.push({ op: 'async pg query (floor)', sqlite_median_us: null, pg_median_us: median(floor), pg_p99_us: p99(floor), ratio: null });
  console.log(`${N} calls each`);
  console.table(rows.map((r) => ({ ...r, sqlite_median_us: r.sqlite_median_us?.toFixed(1), pg_median_us: r.pg_median_us.toFixed(1), pg_p99_us: r.pg_p99_us.toFixed(1) })));
} finally {
  rmSync(dir, { recursive: true, force: true });
  await scratch.drop();
}
