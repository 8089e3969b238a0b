/**
 * The durable job queue in the server's database. A job is claimed with a lease
 * (worker id + lease_until); the worker renews it while it runs. A job whose lease
 * ran out (its server died) is claimable again, and the claimant resumes it from
 * the engine's stored plan (see run-job.ts), so it is never lost nor run twice.
 */
import { EventEmitter } from 'node:events';
import type { Kysely, Selectable, Transaction } from 'kysely';
import type { JobKind, JobsTable, JobState, ServerDatabase } from '../db/schema.js';
import type { DialectName } from '../db/open.js';
import { newId, nowIso } from '../ids.js';

export type Job = Selectable<JobsTable>;
export interface JobEventInput {
  at: string;
  level: string;
  step?: string;
  message: string;
  data?: unknown;
}
const EVENT_ROWS_PER_INSERT = 500;
export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'rolled_back', 'cancelled'];

export class JobQueue {
  /** A job's events or state changed in this process: its SSE streams here look now rather than at their next poll (other replicas' streams poll). */
  private readonly changes = new EventEmitter().setMaxListeners(0);

  constructor(
    readonly db: Kysely<ServerDatabase>,
    private readonly dialect: DialectName,
  ) {}

  async enqueue(j: { projectId: string; app: string; target: string; kind: JobKind; params: Record<string, unknown>; requestedBy: string }): Promise<Job> {
    const row: Job = {
      id: newId('dep', 13),
      project_id: j.projectId,
      app: j.app,
      target: j.target,
      kind: j.kind,
      params: JSON.stringify(j.params),
      state: 'queued',
      engine_deployment_id: null,
      result: null,
      error: null,
      worker_id: null,
      lease_until: null,
      attempts: 0,
      requested_by: j.requestedBy,
      created_at: nowIso(),
      started_at: null,
      finished_at: null,
      external_id: null,
      access_url: null,
      registry_image: null,
    };
    await this.db.insertInto('jobs').values(row).execute();
    return row;
  }

  get(id: string): Promise<Job | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Claim the oldest runnable job: queued, or running with its lease run out. A job
   * waits while another job of the same app+target holds a live lease, or while its
   * project runs as many deploys as its quota allows. On PostgreSQL the candidates
   * are locked FOR UPDATE SKIP LOCKED (replicas skip each other's); on SQLite the
   * transaction serializes writers. The final update is a compare-and-set on the
   * state and lease read, so a job is never claimed twice either way.
   */
  async claimNextJob(workerId: string, leaseMs: number): Promise<Job | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const now = nowIso();
      let q = trx
        .selectFrom('jobs')
        .selectAll()
        .where((eb) => eb.or([eb('state', '=', 'queued'), eb.and([eb('state', '=', 'running'), eb('lease_until', '<', now)])]))
        .orderBy('created_at')
        .limit(20);
      if (this.dialect === 'postgres') q = q.forUpdate().skipLocked();
      const candidates = await q.execute();
      if (candidates.length === 0) return undefined;
      const live = await trx.selectFrom('jobs').select(['id', 'project_id', 'app', 'target']).where('state', '=', 'running').where('lease_until', '>=', now).execute();
      const quotas = new Map((await trx.selectFrom('projects').select(['id', 'max_concurrent_deploys']).execute()).map((p) => [p.id, p.max_concurrent_deploys]));
      // A job whose server died goes before anything queued, and an app+target's jobs go in order:
      // only the first candidate of each app+target may be claimed.
      candidates.sort((x, y) => Number(x.state !== 'running') - Number(y.state !== 'running') || x.created_at.localeCompare(y.created_at));
      const seen = new Set<string>();
      for (const c of candidates) {
        const key = `${c.app}\u0000${c.target}`;
        if (seen.has(key)) continue;
        seen.add(key);
        if (live.some((l) => l.app === c.app && l.target === c.target)) continue;
        const running = live.filter((l) => l.project_id === c.project_id).length;
        if (running >= (quotas.get(c.project_id) ?? Infinity)) continue;
        const claimed = await this.takeOver(trx, c, workerId, leaseMs);
        if (claimed) return claimed;
      }
      return undefined;
    });
  }

  private async takeOver(trx: Transaction<ServerDatabase>, c: Job, workerId: string, leaseMs: number): Promise<Job | undefined> {
    const lease = new Date(Date.now() + leaseMs).toISOString();
    let u = trx
      .updateTable('jobs')
      .set({ state: 'running', worker_id: workerId, lease_until: lease, attempts: c.attempts + 1, started_at: c.started_at ?? nowIso() })
      .where('id', '=', c.id)
      .where('state', '=', c.state);
    u = c.lease_until === null ? u.where('lease_until', 'is', null) : u.where('lease_until', '=', c.lease_until);
    const r = await u.executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return undefined;
    return { ...c, state: 'running', worker_id: workerId, lease_until: lease, attempts: c.attempts + 1, started_at: c.started_at ?? nowIso() };
  }

  /** Renew the lease; false when the job is no longer ours (another worker took it over). */
  async renew(id: string, workerId: string, leaseMs: number): Promise<boolean> {
    const r = await this.db
      .updateTable('jobs')
      .set({ lease_until: new Date(Date.now() + leaseMs).toISOString() })
      .where('id', '=', id)
      .where('worker_id', '=', workerId)
      .where('state', '=', 'running')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async update(id: string, patch: Partial<Omit<Job, 'id'>>): Promise<void> {
    await this.db.updateTable('jobs').set(patch).where('id', '=', id).execute();
    this.changed(id);
  }

  /**
   * Watch job `id` for a change in this process: `changed` resolves at the first one,
   * or after `ms`. Started before a read, it misses nothing written after that read.
   */
  watch(id: string, ms: number): { changed: Promise<void>; cancel(): void } {
    let done = (): void => undefined;
    const changed = new Promise<void>((resolve) => {
      done = (): void => {
        clearTimeout(t);
        this.changes.off(id, done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.changes.on(id, done);
    });
    return { changed, cancel: done };
  }

  private changed(id: string): void {
    this.changes.emit(id);
  }

  async finish(id: string, workerId: string, state: JobState, patch: Partial<Omit<Job, 'id' | 'state'>>): Promise<void> {
    await this.db
      .updateTable('jobs')
      .set({ ...patch, state, finished_at: nowIso(), lease_until: null })
      .where('id', '=', id)
      .where('worker_id', '=', workerId)
      .execute();
    this.changed(id);
  }

  /** Queued or running jobs (the queue depth metric). */
  async depth(): Promise<{ queued: number; running: number }> {
    const rows = await this.db.selectFrom('jobs').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).where('state', 'in', ['queued', 'running']).groupBy('state').execute();
    const n = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
    return { queued: n('queued'), running: n('running') };
  }

  async appendEvent(jobId: string, e: JobEventInput): Promise<number> {
    return (await this.appendEvents(jobId, [e])).at(-1)!;
  }

  /**
   * Store a job's events in order, in one transaction (with `patch` to the job when
   * given); their seqs, in order. One writer per job (the worker holding its lease):
   * the next seq is the last + 1.
   */
  async appendEvents(jobId: string, events: JobEventInput[], patch?: Partial<Omit<Job, 'id'>>): Promise<number[]> {
    if (events.length === 0 && !patch) return [];
    const seqs = await this.db.transaction().execute(async (trx) => {
      if (patch) await trx.updateTable('jobs').set(patch).where('id', '=', jobId).execute();
      if (events.length === 0) return [];
      const last = await trx.selectFrom('job_events').select((eb) => eb.fn.max('seq').as('m')).where('job_id', '=', jobId).executeTakeFirst();
      const first = Number(last?.m ?? 0) + 1;
      const rows = events.map((e, i) => ({ job_id: jobId, seq: first + i, at: e.at, level: e.level, step: e.step ?? null, message: e.message, data: e.data === undefined ? null : JSON.stringify(e.data) }));
      // Bounded statements: the databases cap the parameters of one (8 per row).
      for (let i = 0; i < rows.length; i += EVENT_ROWS_PER_INSERT) await trx.insertInto('job_events').values(rows.slice(i, i + EVENT_ROWS_PER_INSERT)).execute();
      return events.map((_, i) => first + i);
    });
    this.changed(jobId);
    return seqs;
  }

  events(jobId: string, afterSeq: number, limit = 500) {
    return this.db.selectFrom('job_events').selectAll().where('job_id', '=', jobId).where('seq', '>', afterSeq).orderBy('seq').limit(limit).execute();
  }
}
