/**
 * The server's jobs told to the configured notification channels: a claimed deploy or rollback
 * is `start`; its end is `success`, `failure` or `rollback` (a deploy the engine rolled back, or
 * a rollback job that succeeded). start/stop/restart jobs are not told. Sending never blocks or
 * fails a job (the Notifier never throws; a failed delivery is logged without its url).
 */
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import type { Job } from '../jobs/queue.js';
import type { DeploymentNotice, NotifyKind } from './event.js';
import type { Notifier } from './notifier.js';

const TOLD = new Set(['deploy', 'rollback']);

export function endKind(job: Pick<Job, 'kind'>, state: string): NotifyKind | undefined {
  if (state === 'succeeded') return job.kind === 'rollback' ? 'rollback' : 'success';
  if (state === 'rolled_back') return 'rollback';
  if (state === 'failed') return 'failure';
  return undefined;
}

export interface JobNotices {
  started(job: Job): void;
  finished(job: Job, state: string, ms: number): void;
  /** Resolves when every notice sent so far was delivered or given up (for a clean stop). */
  settled(): Promise<void>;
}

export function jobNotices(notifier: Notifier, db: Kysely<ServerDatabase>, log: { error(o: object, msg: string): void }): JobNotices {
  const pending = new Set<Promise<void>>();
  const send = (make: () => Promise<DeploymentNotice>): void => {
    const p = make()
      .then((n) => notifier.notify(n))
      .then((results) => {
        for (const r of results) if (!r.ok) log.error({ channel: r.channel, type: r.type, status: r.status, attempts: r.attempts, err: r.error }, 'notification not delivered');
      })
      .catch((err: Error) => log.error({ err: err.message }, 'notification failed'))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const base = (job: Job): Omit<DeploymentNotice, 'kind'> => ({ app: job.app, target: job.target, deploymentId: job.id, by: job.requested_by });
  return {
    started(job) {
      if (TOLD.has(job.kind)) send(async () => ({ kind: 'start', ...base(job) }));
    },
    finished(job, state, ms) {
      const kind = endKind(job, state);
      if (!TOLD.has(job.kind) || !kind) return;
      send(async () => {
        // The finished row: its release, url and error (the claimed job does not have them).
        const row = await db.selectFrom('jobs').select(['external_id', 'access_url', 'error']).where('id', '=', job.id).executeTakeFirst();
        return {
          kind,
          ...base(job),
          durationMs: ms,
          ...(row?.external_id ? { release: row.external_id } : {}),
          ...(row?.access_url ? { url: row.access_url } : {}),
          ...(kind !== 'success' && row?.error ? { reason: row.error } : {}),
        };
      });
    },
    settled: async () => {
      await Promise.all([...pending]);
    },
  };
}
