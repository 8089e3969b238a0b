import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimNextJob, createJobsTable, enqueueJob, getJob, keepLease, reclaimExpired, releaseJob, renewLease, type Job } from '../../src/server/jobs-lease/index.js';
import { ROOT } from '../helpers/cli.js';
import { createTestDatabase, postgresProblem, type TestDatabase } from '../helpers/postgres.js';

const JOBS = 200;

function openSqlite(file: string): Kysely<any> {
  const handle = new Database(file);
  handle.pragma('journal_mode = WAL');
  handle.pragma('busy_timeout = 5000');
  return new Kysely<any>({ dialect: new SqliteDialect({ database: handle }) });
}

function openPostgres(url: string, max = 5): Kysely<any> {
  return new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max }) }) });
}

async function enqueueMany(db: Kysely<any>, n: number, prefix: string): Promise<void> {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await enqueueJob(db, { id: `${prefix}-${String(i).padStart(4, '0')}`, app: 'hello', target: 'local', kind: 'deploy', payload: { i } }, { now: t0 + i });
}

/** `loops` claimers on one store handle, each claiming until the queue is empty; returns what each claim got. */
async function drain(db: Kysely<any>, worker: string, loops: number): Promise<Job[]> {
  const got: Job[] = [];
  await Promise.all(
    Array.from({ length: loops }, async () => {
      for (let guard = 0; guard < JOBS * 2; guard++) {
        const job = await claimNextJob(db, worker, 30_000);
        if (!job) return;
        got.push(job);
        expect(await releaseJob(db, job.id, worker, 'succeeded')).toBe(true);
      }
    }),
  );
  return got;
}

/** The same lease scenarios on both stores. */
function leaseScenarios(open: () => Promise<Kysely<any>>) {
  it('claims the oldest queued job with a lease, counts attempts, and nothing when the queue is empty', async () => {
    const db = await open();
    await enqueueJob(db, { id: 'old', app: 'a', target: 'local', kind: 'deploy', payload: { ref: 'main' } }, { now: 1000 });
    await enqueueJob(db, { id: 'new', app: 'a', target: 'local', kind: 'deploy' }, { now: 2000 });
    const job = await claimNextJob(db, 'w1', 5_000, { now: 3000 });
    expect(job).toMatchObject({ id: 'old', status: 'running', leaseOwner: 'w1', leaseExpiresAt: 8000, attempts: 1, payload: { ref: 'main' }, createdAt: 1000 });
    expect((await claimNextJob(db, 'w2', 5_000, { now: 3000 }))?.id).toBe('new');
    expect(await claimNextJob(db, 'w3', 5_000, { now: 3000 })).toBeUndefined();
    expect(await renewLease(db, 'old', 'w1', 5_000, { now: 4000 })).toBe(true);
    expect((await getJob(db, 'old'))?.leaseExpiresAt).toBe(9000);
    expect(await renewLease(db, 'old', 'w2', 5_000, { now: 4000 })).toBe(false); // not w2's lease
    expect(await releaseJob(db, 'old', 'w1', 'succeeded', { now: 5000 })).toBe(true);
    expect(await getJob(db, 'old')).toMatchObject({ status: 'succeeded', leaseOwner: null, leaseExpiresAt: null });
    expect(await releaseJob(db, 'old', 'w1', 'failed')).toBe(false); // already ended: the outcome stays
    expect(await releaseJob(db, 'new', 'w2', 'queued')).toBe(true); // given back
    expect(await claimNextJob(db, 'w3', 5_000)).toMatchObject({ id: 'new', attempts: 2, leaseOwner: 'w3' });
    await db.destroy();
  });

  it('an expired lease is reclaimed by another worker, which resumes the job; the dead worker can no longer touch it', async () => {
    const db = await open();
    const t = 1_000_000;
    await enqueueJob(db, { id: 'job-x', app: 'a', target: 'local', kind: 'deploy' }, { now: t });
    const a = await claimNextJob(db, 'worker-a', 1_000, { now: t });
    expect(a).toMatchObject({ id: 'job-x', attempts: 1 });
    // Before expiry nothing is reclaimed and nobody else can take it.
    expect(await reclaimExpired(db, { now: t + 999 })).toEqual({ requeued: [], failed: [] });
    expect(await claimNextJob(db, 'worker-b', 1_000, { now: t + 999 })).toBeUndefined();
    // worker-a stopped renewing (SIGKILL): past its lease, worker-b's sweep puts it back and b claims it.
    expect(await reclaimExpired(db, { now: t + 1_001 })).toEqual({ requeued: ['job-x'], failed: [] });
    const b = await claimNextJob(db, 'worker-b', 1_000, { now: t + 1_002 });
    expect(b).toMatchObject({ id: 'job-x', leaseOwner: 'worker-b', attempts: 2 });
    expect(await renewLease(db, 'job-x', 'worker-a', 1_000, { now: t + 1_003 })).toBe(false);
    expect(await releaseJob(db, 'job-x', 'worker-a', 'succeeded', { now: t + 1_003 })).toBe(false);
    expect(await releaseJob(db, 'job-x', 'worker-b', 'succeeded', { now: t + 1_004 })).toBe(true);
    expect(await getJob(db, 'job-x')).toMatchObject({ status: 'succeeded', attempts: 2 });
    await db.destroy();
  });

  it('a job whose workers keep dying is recorded failed after maxAttempts claims, not requeued forever', async () => {
    const db = await open();
    let t = 5_000_000;
    await enqueueJob(db, { id: 'crasher', app: 'a', target: 'local', kind: 'deploy' }, { now: t });
    for (let i = 1; i <= 3; i++) {
      expect(await claimNextJob(db, `w${i}`, 100, { now: t })).toMatchObject({ attempts: i });
      t += 200;
      const r = await reclaimExpired(db, { now: t, maxAttempts: 3 });
      expect(r).toEqual(i < 3 ? { requeued: ['crasher'], failed: [] } : { requeued: [], failed: ['crasher'] });
    }
    expect(await getJob(db, 'crasher')).toMatchObject({ status: 'failed', attempts: 3 });
    expect(await claimNextJob(db, 'w4', 100, { now: t })).toBeUndefined();
    await db.destroy();
  });

  it('keepLease renews while the job runs and aborts its signal once another worker owns the job', async () => {
    const db = await open();
    await enqueueJob(db, { id: 'kept', app: 'a', target: 'local', kind: 'deploy' });
    await claimNextJob(db, 'w1', 300);
    const keeper = keepLease(db, 'kept', 'w1', { leaseMs: 300, renewEveryMs: 50 });
    await new Promise((r) => setTimeout(r, 700)); // well past the first lease: renewed meanwhile
    expect(await reclaimExpired(db)).toEqual({ requeued: [], failed: [] });
    expect(keeper.signal.aborted).toBe(false);
    // The lease is taken away (as a reclaim after a partition would): the keeper notices.
    expect(await releaseJob(db, 'kept', 'w1', 'queued')).toBe(true);
    await claimNextJob(db, 'w2', 30_000);
    for (let i = 0; i < 40 && !keeper.signal.aborted; i++) await new Promise((r) => setTimeout(r, 25));
    expect(keeper.signal.aborted).toBe(true);
    keeper.stop();
    await db.destroy();
  });
}

describe.skipIf(postgresProblem)(`job leases on PostgreSQL ${postgresProblem ?? ''}`, () => {
  let tdb: TestDatabase;
  const handles: Kysely<any>[] = [];
  const open = () => {
    const db = openPostgres(tdb.url);
    handles.push(db);
    return db;
  };
  beforeAll(async () => {
    tdb = await createTestDatabase();
    const db = openPostgres(tdb.url, 1);
    await createJobsTable(db);
    await createJobsTable(db); // idempotent
    await db.destroy();
  });
  afterAll(async () => {
    for (const h of handles) await h.destroy().catch(() => undefined);
    await tdb?.drop();
  });
  // Each scenario starts from an empty table.
  leaseScenarios(async () => {
    const db = open();
    await db.deleteFrom('jobs').execute();
    return db;
  });

  it('a claim skips a job another connection holds locked (mid-claim) and takes the next one at once, without waiting', async () => {
    const db = open();
    await db.deleteFrom('jobs').execute();
    await enqueueJob(db, { id: 'first', app: 'a', target: 'local', kind: 'deploy' }, { now: 1 });
    await enqueueJob(db, { id: 'second', app: 'a', target: 'local', kind: 'deploy' }, { now: 2 });
    const holder = new pg.Client({ connectionString: tdb.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM jobs WHERE id = 'first' FOR UPDATE`);
      const other = openPostgres(tdb.url, 1);
      handles.push(other);
      const t0 = Date.now();
      const claimed = await Promise.race([claimNextJob(other, 'w2', 30_000), new Promise<'blocked'>((r) => setTimeout(() => r('blocked'), 3_000))]);
      expect(claimed === 'blocked' ? claimed : claimed?.id).toBe('second');
      expect(Date.now() - t0).toBeLessThan(3_000);
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    }
    expect((await claimNextJob(db, 'w3', 30_000))?.id).toBe('first');
  });

  it('two pools racing (FOR UPDATE SKIP LOCKED): every job is claimed exactly once and none is left', async () => {
    const setup = open();
    await setup.deleteFrom('jobs').execute();
    await enqueueMany(setup, JOBS, 'race');
    const poolA = openPostgres(tdb.url, 5);
    const poolB = openPostgres(tdb.url, 5);
    handles.push(poolA, poolB);
    const [gotA, gotB] = await Promise.all([drain(poolA, 'replica-a', 5), drain(poolB, 'replica-b', 5)]);
    const ids = [...gotA, ...gotB].map((j) => j.id);
    expect(ids.length).toBe(JOBS);
    expect(new Set(ids).size).toBe(JOBS);
    expect(gotA.length).toBeGreaterThan(0);
    expect(gotB.length).toBeGreaterThan(0);
    expect([...gotA, ...gotB].every((j) => j.attempts === 1)).toBe(true);
    const left = await setup.selectFrom('jobs').select('id').where('status', '!=', 'succeeded').execute();
    expect(left).toEqual([]);
  });
});

/** A server replica in its own process: a JobWorker whose "deploy" records its steps in `runs`. */
const REPLICA = `
  import pg from 'pg';
  import { Kysely, PostgresDialect } from 'kysely';
  const { JobWorker } = await import(${JSON.stringify(join(ROOT, 'dist/server/jobs-lease/index.js'))});
  const [url, workerId] = process.argv.slice(1);
  const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 3 }) }) });
  const record = (job, event) => db.insertInto('runs').values({ job_id: job.id, worker: workerId, attempt: job.attempts, event }).execute();
  const worker = new JobWorker(db, async (job, signal) => {
    await record(job, 'start');
    // The first run is slow (it gets SIGKILLed meanwhile); a resumption (attempts > 1) finishes what is left.
    if (job.attempts === 1) for (let i = 0; i < 300 && !signal.aborted; i++) await new Promise((r) => setTimeout(r, 100));
    if (signal.aborted) return 'failed';
    await record(job, 'done');
    return 'succeeded';
  }, { workerId, leaseMs: 1000, renewEveryMs: 200, pollMs: 100 });
  worker.start();
  process.on('SIGTERM', () => worker.stop().then(() => db.destroy()).then(() => process.exit(0)));
`;

describe.skipIf(postgresProblem)(`two replicas on PostgreSQL ${postgresProblem ?? ''}`, () => {
  it('SIGKILL the replica running a job: the other reclaims its lease and finishes it, once', async () => {
    const tdb = await createTestDatabase();
    const db = openPostgres(tdb.url, 2);
    const children = new Map<string, ReturnType<typeof spawn>>();
    try {
      await createJobsTable(db);
      await db.schema.createTable('runs').addColumn('job_id', 'text').addColumn('worker', 'text').addColumn('attempt', 'integer').addColumn('event', 'text').addColumn('n', 'serial').execute();
      await enqueueJob(db, { id: 'deploy-1', app: 'hello', target: 'local', kind: 'deploy' });
      for (const name of ['replica-a', 'replica-b']) {
        const child = spawn(process.execPath, ['--input-type=module', '-e', REPLICA, tdb.url, name], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
        children.set(name, child);
      }
      const runs = () => db.selectFrom('runs').select(['worker', 'attempt', 'event']).orderBy('n').execute();
      let first: { worker: string } | undefined;
      for (let i = 0; i < 100 && !first; i++) {
        first = (await runs())[0];
        if (!first) await new Promise((r) => setTimeout(r, 100));
      }
      expect(first, 'no replica started the job').toBeDefined();
      const victim = first!.worker;
      const survivor = victim === 'replica-a' ? 'replica-b' : 'replica-a';
      children.get(victim)!.kill('SIGKILL');
      for (let i = 0; i < 150 && !(await runs()).some((r) => r.event === 'done'); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500)); // anything more would show up now
      expect(await runs()).toEqual([
        { worker: victim, attempt: 1, event: 'start' },
        { worker: survivor, attempt: 2, event: 'start' },
        { worker: survivor, attempt: 2, event: 'done' },
      ]);
      expect(await getJob(db, 'deploy-1')).toMatchObject({ status: 'succeeded', attempts: 2, leaseOwner: null });
      // The survivor goes on taking work.
      await enqueueJob(db, { id: 'deploy-2', app: 'hello', target: 'local', kind: 'deploy' });
      for (let i = 0; i < 100 && (await getJob(db, 'deploy-2'))?.status !== 'running'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await getJob(db, 'deploy-2')).toMatchObject({ leaseOwner: survivor, status: 'running' });
    } finally {
      for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await db.destroy();
      await tdb.drop();
    }
  });
});

describe('job leases on SQLite', () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'gantry-jobs-lease-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  leaseScenarios(async () => {
    const db = openSqlite(join(dir, `s${n++}.db`));
    await createJobsTable(db);
    return db;
  });

  it('two processes racing on one SQLite file: every job is claimed exactly once', async () => {
    const file = join(dir, 'race.db');
    const db = openSqlite(file);
    await createJobsTable(db);
    await createJobsTable(db);
    await enqueueMany(db, JOBS, 'race');
    await db.destroy();
    // Real separate processes (separate connections, no shared event loop), each with 3 claim loops.
    const script = `
      import Database from 'better-sqlite3';
      import { Kysely, SqliteDialect } from 'kysely';
      const { claimNextJob, releaseJob } = await import(${JSON.stringify(join(ROOT, 'dist/server/jobs-lease/index.js'))});
      const h = new Database(process.argv[1]); h.pragma('busy_timeout = 5000');
      const db = new Kysely({ dialect: new SqliteDialect({ database: h }) });
      const got = [];
      await Promise.all([0, 1, 2].map(async () => {
        for (let i = 0; i < ${JOBS * 2}; i++) {
          const job = await claimNextJob(db, process.argv[2], 30000);
          if (!job) return;
          got.push(job.id + ':' + job.attempts);
          if (!(await releaseJob(db, job.id, process.argv[2], 'succeeded'))) throw new Error('lost ' + job.id);
        }
      }));
      await db.destroy();
      process.stdout.write(JSON.stringify(got));
    `;
    const run = (worker: string) =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, file, worker], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`claimer ${worker} exited ${code}: ${err}`))));
      });
    const [a, b] = await Promise.all([run('proc-a'), run('proc-b')]);
    const all = [...a, ...b];
    expect(all.length).toBe(JOBS);
    expect(new Set(all.map((x) => x.split(':')[0])).size).toBe(JOBS);
    expect(all.every((x) => x.endsWith(':1'))).toBe(true);
  });
});
