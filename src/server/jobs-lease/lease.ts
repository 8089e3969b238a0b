import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { DEFAULTS } from '../../core/defaults.js';
import { checkSpec, DEFAULT_JOB_TABLE, dialectOf, rowToJob, type Job, type JobTableSpec } from './table.js';

/**
 * Job claiming with leases, on SQLite and PostgreSQL alike.
 *
 * A worker claims the oldest queued job (`claimNextJob`), which gives it a lease until
 * now + leaseMs; it renews the lease while it works (`renewLease`; keepLease does it every third of the lease)
 * and ends it with the outcome (`releaseJob`). A worker that dies stops renewing: once its lease
 * has expired, `reclaimExpired` (run by any replica) puts the job back in the queue, and the next
 * claim hands it to a live worker with attempts + 1, which tells that worker to resume the
 * job's stored plan rather than start it again. Renewing or releasing a lease one no longer
 * holds returns false: the worker must stop touching that job.
 */
export interface LeaseOptions {
  /** The clock (epoch ms); tests pass their own. */
  now?: number;
  /** Another table or column names than DEFAULT_JOB_TABLE. */
  spec?: JobTableSpec;
}

export interface NewJob {
  id?: string;
  app: string;
  target: string;
  kind: string;
  /** Stored as JSON text; never put a secret in it. */
  payload?: unknown;
}

export async function enqueueJob(db: Kysely<any>, job: NewJob, opts: LeaseOptions = {}): Promise<Job> {
  const spec = checkSpec(opts.spec ?? DEFAULT_JOB_TABLE);
  const c = spec.columns;
  const now = opts.now ?? Date.now();
  const row = await db
    .insertInto(spec.table)
    .values({
      [c.id]: job.id ?? randomUUID(),
      [c.app]: job.app,
      [c.target]: job.target,
      [c.kind]: job.kind,
      [c.payload]: JSON.stringify(job.payload ?? {}),
      [c.status]: 'queued',
      [c.attempts]: 0,
      [c.createdAt]: now,
      [c.updatedAt]: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToJob(row, spec);
}

/**
 * Claims the oldest queued job for workerId, or undefined when none is queued.
 * One UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING statement:
 * - PostgreSQL: the inner SELECT locks the row it picks `FOR UPDATE SKIP LOCKED`, so concurrent
 *   claimers on other connections each pick a different row and never wait on one another;
 * - SQLite: the statement is its own write transaction (SQLite opens the write lock when the
 *   statement starts and serialises writers), so no two connections, in one process or many,
 *   can pick the same row; a busy database is waited for (the connection's busy timeout).
 * The outer WHERE re-checks the status either way.
 */
export async function claimNextJob(db: Kysely<any>, workerId: string, leaseMs: number = DEFAULTS.jobLease.leaseMs, opts: LeaseOptions = {}): Promise<Job | undefined> {
  const spec = checkSpec(opts.spec ?? DEFAULT_JOB_TABLE);
  const c = spec.columns;
  const now = opts.now ?? Date.now();
  const postgres = dialectOf(db) === 'postgres';
  const pick = db
    .selectFrom(spec.table)
    .select(c.id)
    .where(c.status, '=', 'queued')
    .orderBy(c.createdAt)
    .orderBy(c.id)
    .limit(1)
    .$if(postgres, (qb) => qb.forUpdate().skipLocked());
  const row = await db
    .updateTable(spec.table)
    .set({
      [c.status]: 'running',
      [c.leaseOwner]: workerId,
      [c.leaseExpiresAt]: now + leaseMs,
      [c.attempts]: sql`${sql.ref(c.attempts)} + 1`,
      [c.updatedAt]: now,
    })
    .where(c.id, '=', pick)
    .where(c.status, '=', 'queued')
    .returningAll()
    .executeTakeFirst();
  return row ? rowToJob(row, spec) : undefined;
}

/** Extends workerId's lease on a running job to now + leaseMs. False: the lease is no longer this worker's (stop). */
export async function renewLease(db: Kysely<any>, jobId: string, workerId: string, leaseMs: number = DEFAULTS.jobLease.leaseMs, opts: LeaseOptions = {}): Promise<boolean> {
  const spec = checkSpec(opts.spec ?? DEFAULT_JOB_TABLE);
  const c = spec.columns;
  const now = opts.now ?? Date.now();
  const res = await db
    .updateTable(spec.table)
    .set({ [c.leaseExpiresAt]: now + leaseMs, [c.updatedAt]: now })
    .where(c.id, '=', jobId)
    .where(c.status, '=', 'running')
    .where(c.leaseOwner, '=', workerId)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/**
 * Ends workerId's lease with the job's outcome; 'queued' gives the job back untouched (a worker
 * shutting down cleanly), keeping its attempts. False: the lease was not this worker's any more.
 */
export async function releaseJob(db: Kysely<any>, jobId: string, workerId: string, outcome: 'succeeded' | 'failed' | 'queued', opts: LeaseOptions = {}): Promise<boolean> {
  const spec = checkSpec(opts.spec ?? DEFAULT_JOB_TABLE);
  const c = spec.columns;
  const now = opts.now ?? Date.now();
  const res = await db
    .updateTable(spec.table)
    .set({ [c.status]: outcome, [c.leaseOwner]: null, [c.leaseExpiresAt]: null, [c.updatedAt]: now })
    .where(c.id, '=', jobId)
    .where(c.status, '=', 'running')
    .where(c.leaseOwner, '=', workerId)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export interface ReclaimResult {
  /** Back in the queue: the next claim resumes them (attempts tells it). */
  requeued: string[];
  /** Out of attempts (maxAttempts claims already): recorded failed. */
  failed: string[];
}

/**
 * Running jobs whose lease has expired (their worker died or lost the store) go back to the queue,
 * or are recorded failed once claimed maxAttempts times (a job that kills its worker every time
 * must not take every replica down in turn). Safe to run from every replica at once: each row
 * is changed by one UPDATE whose WHERE is re-checked under the row lock.
 */
export async function reclaimExpired(db: Kysely<any>, opts: LeaseOptions & { maxAttempts?: number } = {}): Promise<ReclaimResult> {
  const spec = checkSpec(opts.spec ?? DEFAULT_JOB_TABLE);
  const c = spec.columns;
  const now = opts.now ?? Date.now();
  const maxAttempts = opts.maxAttempts ?? DEFAULTS.jobLease.maxAttempts;
  const expired = (qb: any) => qb.where(c.status, '=', 'running').where(c.leaseExpiresAt, '<', now);
  const failed = await expired(db.updateTable(spec.table).set({ [c.status]: 'failed', [c.leaseOwner]: null, [c.leaseExpiresAt]: null, [c.updatedAt]: now }))
    .where(c.attempts, '>=', maxAttempts)
    .returning(c.id)
    .execute();
  const requeued = await expired(db.updateTable(spec.table).set({ [c.status]: 'queued', [c.leaseOwner]: null, [c.leaseExpiresAt]: null, [c.updatedAt]: now }))
    .where(c.attempts, '<', maxAttempts)
    .returning(c.id)
    .execute();
  return { requeued: requeued.map((r: any) => String(r[c.id])), failed: failed.map((r: any) => String(r[c.id])) };
}

export async function getJob(db: Kysely<any>, jobId: string, opts: LeaseOptions = {}): Promise<Job | undefined> {
  const spec = checkSpec(opts.spec ?? DEFAULT_JOB_TABLE);
  const row = await db.selectFrom(spec.table).selectAll().where(spec.columns.id, '=', jobId).executeTakeFirst();
  return row ? rowToJob(row, spec) : undefined;
}
