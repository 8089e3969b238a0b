/**
 * The job queue's claimNextJob on the real database (SQLite; PostgreSQL too with
 * GANTRY_TEST_PG): claimers racing never take one job twice, a job whose lease ran
 * out is taken over (attempts + 1), a live lease holds back its app+target, and a
 * project's concurrent-deploy quota is kept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openServerDb, type ServerDb } from '../../src/server/db/open.js';
import { JobQueue } from '../../src/server/jobs/queue.js';
import { JobEventWriter } from '../../src/server/jobs/event-writer.js';

let opened: ServerDb | undefined;
afterEach(async () => {
  await opened?.close();
  opened = undefined;
});

async function freshQueue(): Promise<JobQueue> {
  let url = join(mkdtempSync(join(tmpdir(), 'gantry-queue-')), 'server.db');
  if (process.env.GANTRY_TEST_PG) {
    const pg = (await import('pg')).default;
    const name = `gantry_q_${Math.random().toString(36).slice(2, 10)}`;
    const c = new pg.Client({ connectionString: process.env.GANTRY_TEST_PG });
    await c.connect();
    await c.query(`CREATE DATABASE ${name}`);
    await c.end();
    const u = new URL(process.env.GANTRY_TEST_PG);
    u.pathname = `/${name}`;
    url = u.toString();
  }
  opened = await openServerDb(url);
  await opened.db.insertInto('projects').values([
    { id: 'p', name: 'p', max_apps: 100, max_concurrent_deploys: 100, created_at: new Date().toISOString() },
    { id: 'small', name: 'small', max_apps: 100, max_concurrent_deploys: 1, created_at: new Date().toISOString() },
  ]).execute();
  return new JobQueue(opened.db, opened.dialect);
}

describe('claimNextJob', () => {
  it('racing claimers take each job once', async () => {
    const q = await freshQueue();
    for (let i = 0; i < 24; i++) await q.enqueue({ projectId: 'p', app: `app${i}`, target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    const claimed: string[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let n = 0; n < 100; n++) {
          const j = await q.claimNextJob(`w${w}`, 60_000).catch((e: Error) => (/lock|busy|serializ/i.test(e.message) ? null : Promise.reject(e)));
          if (j === undefined) break;
          if (j) claimed.push(j.id);
        }
      }),
    );
    expect(claimed).toHaveLength(24);
    expect(new Set(claimed).size).toBe(24);
  });

  it('a live lease holds back its app+target; a lease run out is taken over', async () => {
    const q = await freshQueue();
    const a = await q.enqueue({ projectId: 'p', app: 'web', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    const b = await q.enqueue({ projectId: 'p', app: 'web', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    // A long lease while the test checks that it holds the app back (a loaded machine can stall a few hundred ms
    // between two calls); then a renewal shortens it to 300 ms, and it runs out.
    expect((await q.claimNextJob('w1', 60_000))!.id).toBe(a.id);
    expect(await q.claimNextJob('w2', 300)).toBeUndefined();
    expect(await q.renew(a.id, 'w1', 300)).toBe(true);
    await new Promise((r) => setTimeout(r, 450));
    // w1 died: its job comes back first (oldest), to w2, as a second attempt.
    const again = await q.claimNextJob('w2', 60_000);
    expect(again).toMatchObject({ id: a.id, attempts: 2, worker_id: 'w2' });
    expect(await q.renew(a.id, 'w1', 300)).toBe(false);
    expect(await q.claimNextJob('w3', 60_000)).toBeUndefined();
    await q.finish(a.id, 'w2', 'succeeded', {});
    expect((await q.claimNextJob('w3', 60_000))!.id).toBe(b.id);
  });

  it('keeps a project\'s concurrent-deploy quota', async () => {
    const q = await freshQueue();
    const one = await q.enqueue({ projectId: 'small', app: 'a1', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    await q.enqueue({ projectId: 'small', app: 'a2', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    const other = await q.enqueue({ projectId: 'p', app: 'b1', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    expect((await q.claimNextJob('w1', 60_000))!.id).toBe(one.id);
    expect((await q.claimNextJob('w2', 60_000))!.id).toBe(other.id);
    expect(await q.claimNextJob('w3', 60_000)).toBeUndefined();
    expect(await q.depth()).toEqual({ queued: 1, running: 2 });
  });

  it('stores a job\'s events in order, resumable after a seq', async () => {
    const q = await freshQueue();
    const j = await q.enqueue({ projectId: 'p', app: 'web', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    for (let i = 0; i < 5; i++) await q.appendEvent(j.id, { at: new Date().toISOString(), level: 'info', step: 'x', message: `m${i}` });
    expect((await q.events(j.id, 2)).map((e) => [Number(e.seq), e.message])).toEqual([[3, 'm2'], [4, 'm3'], [5, 'm4']]);
  });
  it('a job\'s events written together (the writer batches while a write is under way) keep their order, with the job patched in the same transaction', async () => {
    const q = await freshQueue();
    const j = await q.enqueue({ projectId: 'p', app: 'web', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    const w = new JobEventWriter(q, j.id, (err) => {
      throw err;
    });
    const at = new Date().toISOString();
    // Added without awaiting: the first is written at once, the others while it is being written.
    for (let i = 0; i < 7; i++) w.add({ at, level: 'info', step: 'x', message: `m${i}`, data: { i } }, i === 3 ? { engine_deployment_id: 'd-123' } : undefined);
    await w.flushed();
    await q.appendEvent(j.id, { at, level: 'info', message: 'after' });
    const rows = await q.events(j.id, 0);
    expect(rows.map((e) => [Number(e.seq), e.message])).toEqual([...Array.from({ length: 7 }, (_, i) => [i + 1, `m${i}`]), [8, 'after']]);
    expect(JSON.parse(rows[6]!.data!)).toEqual({ i: 6 });
    expect((await q.get(j.id))?.engine_deployment_id).toBe('d-123');
  });

  it('a change to a job in this process ends a watch on it at once (an SSE stream here sees the end without waiting for its poll)', async () => {
    const q = await freshQueue();
    const j = await q.enqueue({ projectId: 'p', app: 'web', target: 'local', kind: 'deploy', params: {}, requestedBy: 't' });
    const other = q.watch('another-job', 600_000);
    // Far longer than the test's own timeout: only the change can end these waits.
    const onEvent = q.watch(j.id, 600_000);
    await q.appendEvent(j.id, { at: new Date().toISOString(), level: 'info', message: 'm' });
    await onEvent.changed;
    const onFinish = q.watch(j.id, 600_000);
    await q.finish(j.id, 'nobody', 'succeeded', {});
    await onFinish.changed;
    other.cancel();
    await other.changed;
  });
});
