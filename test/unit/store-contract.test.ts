/**
 * The state store contract, the same cases on both backends: SQLite (the CLI's and a
 * SQLite server's) and PostgreSQL (server replicas sharing a database; real PostgreSQL
 * on 127.0.0.1:55432, through the worker thread the server uses).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/core/defaults.js';
import { lockAlive } from '../../src/engine/lock-liveness.js';
import { pidAlive } from '../../src/core/pid.js';
import { SqliteStore, type Store } from '../../src/store/index.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import { buildPgStoreWorker } from '../helpers/pg-store-worker.js';
import { createTestDatabase, postgresProblem, type TestDatabase } from '../helpers/postgres.js';

interface Backend {
  open(): Store;
  /** A second store on the same state (another replica), or undefined when the backend has none. */
  twin?(): Store;
}

const scratch = () => mkdtempSync(join(tmpdir(), 'gantry-contract-'));
const opened: Store[] = [];
let db: TestDatabase | undefined;
let workerFile = '';

const backends: Record<string, Backend> = {
  sqlite: {
    open: () => track(new SqliteStore(join(scratch(), 'state.db'))),
  },
  postgres: {
    // One database for the file; each case uses app names of its own.
    open: () => track(new PgStore({ url: db!.url, scratchDir: scratch(), workerFile })),
    twin: () => track(new PgStore({ url: db!.url, scratchDir: scratch(), workerFile })),
  },
};

function track(s: Store): Store {
  opened.push(s);
  return s;
}

beforeAll(async () => {
  if (postgresProblem) return;
  db = await createTestDatabase('gantry_store');
  workerFile = await buildPgStoreWorker();
});

afterAll(async () => {
  for (const s of opened) s.close();
  await db?.drop();
});

/** A pid no process has: one that ran and exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(r.stdout.toString());
  expect(pidAlive(pid)).toBe(false);
  return pid;
}

let n = 0;
const uniq = (p: string): string => `${p}-${process.pid}-${++n}`;

for (const [name, backend] of Object.entries(backends)) {
  describe.skipIf(name === 'postgres' && postgresProblem)(`Store on ${name}${name === 'postgres' && postgresProblem ? ` (skipped: ${postgresProblem})` : ''}`, () => {
    let s: Store;
    beforeAll(() => {
      s = backend.open();
    });

    it('numbers releases per app+target, never reusing a version, and lists them newest first', () => {
      const app = uniq('rel');
      s.ensureTarget(app, 'local', 'process');
      const base = { app, target: 'local', contentHash: 'h', artifact: { ref: 'a' }, manifest: { app }, status: 'built' as const };
      expect(s.insertRelease({ ...base, id: 'r1' }).version).toBe(1);
      expect(s.insertRelease({ ...base, id: 'r2', git: { commit: 'abc', dirty: false } as never, buildKey: 'k' }).version).toBe(2);
      s.markReleaseDeleted(app, 'local', 'r2');
      expect(s.insertRelease({ ...base, id: 'r3' }).version).toBe(3);
      expect(s.listReleases(app, 'local').map((r) => r.id)).toEqual(['r3', 'r1']);
      expect(s.listReleases(app, 'local', { includeDeleted: true }).map((r) => [r.id, r.deleted])).toEqual([['r3', false], ['r2', true], ['r1', false]]);
      s.setReleaseStatus(app, 'local', 'r1', 'active', true);
      const r1 = s.getRelease(app, 'local', 'r1')!;
      expect(r1).toMatchObject({ status: 'active', artifact: { ref: 'a' }, manifest: { app }, version: 1 });
      expect(r1.lastGoodAt).toBeDefined();
      expect(s.getRelease(app, 'local', 'r2')).toMatchObject({ git: { commit: 'abc' }, buildKey: 'k' });
      expect(s.getRelease(app, 'other', 'r1')).toBeUndefined();
    });

    it('keeps targets, deployments and their steps (insert, append, resumed starts)', () => {
      const app = uniq('dep');
      expect(s.ensureTarget(app, 'local', 'process')).toMatchObject({ app, name: 'local', type: 'process', desiredState: 'running', instances: 1, heldNodes: [], settings: {} });
      s.updateTarget(app, 'local', { instances: 3, heldNodes: ['n1'], settings: { port: 8080 }, currentRelease: 'r1' });
      expect(s.getTarget(app, 'local')).toMatchObject({ instances: 3, heldNodes: ['n1'], settings: { port: 8080 }, currentRelease: 'r1' });
      s.insertDeployment({ id: `${app}-d1`, app, target: 'local', targetType: 'process', kind: 'deploy', actor: 't', platformConfig: { port: 1 } });
      s.insertDeployment({ id: `${app}-d2`, app, target: 'local', targetType: 'process', kind: 'deploy', actor: 't' });
      expect(s.unfinishedDeployments(app, 'local').map((d) => d.id)).toEqual([`${app}-d1`, `${app}-d2`]);
      s.updateDeployment(`${app}-d1`, { status: 'succeeded', accessUrl: 'http://x', plan: [{ kind: 'build' }] });
      const d1 = s.getDeployment(`${app}-d1`)!;
      expect(d1).toMatchObject({ status: 'succeeded', accessUrl: 'http://x', platformConfig: { port: 1 }, plan: [{ kind: 'build' }], pid: process.pid });
      expect(d1.finishedAt).toBeDefined();
      expect(s.unfinishedDeployments(app, 'local').map((d) => d.id)).toEqual([`${app}-d2`]);
      expect(s.listDeployments(app, 'local').map((d) => d.id)).toEqual([`${app}-d2`, `${app}-d1`]);
      expect(s.listDeployments(app, 'local', 1)).toHaveLength(1);

      s.insertSteps(`${app}-d2`, [{ kind: 'build', params: { a: 1 } }, { kind: 'switch', params: {} }]);
      s.appendSteps(`${app}-d2`, [{ kind: 'watch', params: { ms: 5 } }]);
      s.setStepStatus(`${app}-d2`, 0, 'running');
      const started = s.listSteps(`${app}-d2`)[0]!.startedAt;
      s.setStepStatus(`${app}-d2`, 0, 'running');
      s.setStepStatus(`${app}-d2`, 1, 'failed', 'boom');
      const steps = s.listSteps(`${app}-d2`);
      expect(steps.map((x) => [x.idx, x.kind, x.status])).toEqual([[0, 'build', 'running'], [1, 'switch', 'failed'], [2, 'watch', 'pending']]);
      expect(steps[0]!.startedAt).toBe(started);
      expect(steps[0]!.params).toEqual({ a: 1 });
      expect(steps[1]!.error).toBe('boom');
      expect(s.newestDeploymentAt(app)).toBe(s.getDeployment(`${app}-d2`)!.createdAt);
    });

    it('returns events in the order they were recorded, by deployment and the newest of an app+target', () => {
      const app = uniq('ev');
      const seqs = [1, 2, 3, 4, 5].map((i) => s.insertEvent({ app, target: 'local', deploymentId: i % 2 ? `${app}-d` : undefined, level: 'info', message: `m${i}`, data: i === 1 ? { i } : undefined }).seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(s.listEvents({ app, target: 'local', deploymentId: `${app}-d` }).map((e) => e.message)).toEqual(['m1', 'm3', 'm5']);
      expect(s.listEvents({ app, target: 'local', limit: 3 }).map((e) => e.message)).toEqual(['m3', 'm4', 'm5']);
      expect(s.listEvents({ app, target: 'local', deploymentId: `${app}-d` })[0]).toMatchObject({ seq: seqs[0], data: { i: 1 } });
    });

    it('appends to the audit log, newest first', () => {
      const app = uniq('audit');
      s.audit('alice', 'deploy', app, 'local', { release: 'r1' });
      s.audit('bob', 'rollback', app, 'local');
      const [last, before] = s.listAudit(2);
      expect(last).toMatchObject({ actor: 'bob', action: 'rollback', app, target: 'local' });
      expect(before).toMatchObject({ actor: 'alice', action: 'deploy', detail: { release: 'r1' } });
      expect(last!.seq).toBeGreaterThan(before!.seq);
    });

    it('locks: a live holder is refused; a dead pid here and an expired lease elsewhere are stale and taken over', () => {
      const app = uniq('lock');
      const here = hostname();
      const me = { holder: 'me', pid: process.pid, host: here };
      const alive = (l: Parameters<typeof lockAlive>[0]) => lockAlive(l);
      expect(s.tryLock(app, 't', me, alive)).toEqual({});
      expect(s.tryLock(app, 't', { ...me, holder: 'other' }, alive).held).toMatchObject({ holder: 'me', pid: process.pid, host: here });
      expect(s.renewLock(app, 't', process.pid, here)).toBe(true);
      expect(s.renewLock(app, 't', process.pid, 'elsewhere')).toBe(false);
      s.unlock(app, 't', process.pid, 'elsewhere');
      expect(s.getLock(app, 't')?.holder).toBe('me');
      s.unlock(app, 't', process.pid, here);
      expect(s.getLock(app, 't')).toBeUndefined();

      // Same host, a holder whose process is gone: stale.
      const dead = deadPid();
      expect(s.tryLock(app, 't', { holder: 'crashed', pid: dead, host: here }, alive)).toEqual({});
      const taken = s.tryLock(app, 't', me, alive);
      expect(taken.held).toBeUndefined();
      expect(taken.stale).toMatchObject({ holder: 'crashed', pid: dead });
      s.unlock(app, 't', process.pid, here);

      // Another host: live while it renews within the lease, stale once it has not for longer.
      expect(s.tryLock(app, 't', { holder: 'far', pid: 1, host: 'far-away-host' }, alive)).toEqual({});
      const held = s.tryLock(app, 't', me, alive).held!;
      expect(held).toMatchObject({ holder: 'far', host: 'far-away-host' });
      expect(held.renewedAt).toBeDefined();
      const later = (l: Parameters<typeof lockAlive>[0]) => lockAlive(l, { host: here, now: Date.parse(l.renewedAt!) + DEFAULTS.lockLeaseMs + 1, leaseMs: DEFAULTS.lockLeaseMs, pidAlive });
      const over = s.tryLock(app, 't', me, later);
      expect(over.held).toBeUndefined();
      expect(over.stale).toMatchObject({ holder: 'far' });
      expect(s.getLock(app, 't')).toMatchObject({ holder: 'me', host: here });
      s.unlock(app, 't', process.pid, here);
    });

    it('forgetTarget removes every row of that app+target, and the app with its last target', () => {
      const app = uniq('forget');
      for (const target of ['a', 'b']) {
        s.ensureTarget(app, target, 'process');
        s.insertRelease({ id: 'r1', app, target, contentHash: 'h', artifact: {}, manifest: {}, status: 'built' });
        s.insertDeployment({ id: `${app}-${target}`, app, target, targetType: 'process', kind: 'deploy', actor: 't' });
        s.insertSteps(`${app}-${target}`, [{ kind: 'build', params: {} }]);
        s.insertEvent({ app, target, deploymentId: `${app}-${target}`, level: 'info', message: 'x' });
      }
      s.forgetTarget(app, 'a');
      expect(s.getTarget(app, 'a')).toBeUndefined();
      expect(s.listReleases(app, 'a', { includeDeleted: true })).toEqual([]);
      expect(s.listDeployments(app, 'a')).toEqual([]);
      expect(s.listSteps(`${app}-a`)).toEqual([]);
      expect(s.listEvents({ app, target: 'a' })).toEqual([]);
      expect(s.getTarget(app, 'b')).toBeDefined();
      expect(s.listSteps(`${app}-b`)).toHaveLength(1);
      s.forgetTarget(app, 'b');
      expect(s.getTarget(app, 'b')).toBeUndefined();
      // The app row went with its last target: a new target of it starts from nothing.
      expect(s.ensureTarget(app, 'a', 'process').instances).toBe(1);
      expect(s.insertRelease({ id: 'r9', app, target: 'a', contentHash: 'h', artifact: {}, manifest: {}, status: 'built' }).version).toBe(1);
    });

    it("a backup's state snapshot holds the app's rows; restoring it brings them back", async () => {
      const app = uniq('backup');
      s.ensureTarget(app, 'local', 'process');
      s.insertRelease({ id: 'r1', app, target: 'local', contentHash: 'h', artifact: { ref: 1 }, manifest: {}, status: 'active' });
      s.insertDeployment({ id: `${app}-d1`, app, target: 'local', targetType: 'process', kind: 'deploy', actor: 't' });
      s.insertSteps(`${app}-d1`, [{ kind: 'build', params: {} }]);
      s.insertEvent({ app, target: 'local', deploymentId: `${app}-d1`, level: 'info', message: 'before' });
      const snap = s.stateSnapshot(app);
      const copy = join(scratch(), 'copy.db');
      await snap.db.backup(copy);
      snap.release();

      s.insertRelease({ id: 'r2', app, target: 'local', contentHash: 'h', artifact: {}, manifest: {}, status: 'built' });
      s.insertEvent({ app, target: 'local', level: 'info', message: 'after' });
      const { copyFile } = await import('node:fs/promises');
      await s.restoreState(app, () => copyFile(copy, s.file));
      expect(s.listReleases(app, 'local').map((r) => [r.id, r.version])).toEqual([['r1', 1]]);
      expect(s.listSteps(`${app}-d1`).map((x) => x.kind)).toEqual(['build']);
      expect(s.listEvents({ app, target: 'local' }).map((e) => e.message)).toEqual(['before']);
      // Numbering goes on from the restored releases.
      expect(s.insertRelease({ id: 'r3', app, target: 'local', contentHash: 'h', artifact: {}, manifest: {}, status: 'built' }).version).toBe(2);
    });

    it.runIf(backend.twin)('two stores on one database (two replicas) see one state: one lock, one numbering', () => {
      const other = backend.twin!();
      const app = uniq('twin');
      s.ensureTarget(app, 'local', 'process');
      expect(s.tryLock(app, 'local', { holder: 'A', pid: process.pid, host: hostname() }, () => true)).toEqual({});
      expect(other.tryLock(app, 'local', { holder: 'B', pid: process.pid, host: hostname() }, () => true).held?.holder).toBe('A');
      const rel = (st: Store, id: string) => st.insertRelease({ id, app, target: 'local', contentHash: 'h', artifact: {}, manifest: {}, status: 'built' }).version;
      expect([rel(s, 'a'), rel(other, 'b'), rel(s, 'c')]).toEqual([1, 2, 3]);
      expect(other.getTarget(app, 'local')?.name).toBe('local');
    });
  });
}

describe.skipIf(postgresProblem)('PostgreSQL state schema migrations', () => {
  it('replicas starting together apply each migration once (advisory lock), and all see the latest schema', async () => {
    const pg = (await import('pg')).default;
    const { migrate } = await import('../../src/store/pg/migrate.js');
    const { PG_MIGRATIONS, PG_SCHEMA } = await import('../../src/store/pg/schema.js');
    const fresh = await createTestDatabase('gantry_migrate');
    const clients = [0, 1, 2, 3].map(() => new pg.Client({ connectionString: fresh.url }));
    try {
      await Promise.all(clients.map((c) => c.connect()));
      expect(await Promise.all(clients.map((c) => migrate(c)))).toEqual(clients.map(() => PG_MIGRATIONS.length));
      const { rows } = await clients[0]!.query(`SELECT version FROM ${PG_SCHEMA}.migrations ORDER BY version`);
      expect(rows.map((r) => r.version)).toEqual(PG_MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await fresh.drop();
    }
  });
});

describe.skipIf(postgresProblem)('PostgreSQL state store errors', () => {
  it('an unreachable PostgreSQL is a typed error naming the store, with a hint; the password is not in it', () => {
    let err: unknown;
    try {
      new PgStore({ url: 'postgres://gantry:s3cret-pw@127.0.0.1:1/nowhere', scratchDir: scratch(), workerFile });
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'STATE_STORE', message: expect.stringContaining('PostgreSQL'), hint: expect.stringContaining('--database') });
    expect(JSON.stringify(err) + String((err as Error).message)).not.toContain('s3cret-pw');
  });
});
