import type { Kysely } from 'kysely';
import { DEFAULTS } from '../../core/defaults.js';
import { renewLease, type LeaseOptions } from './lease.js';

export interface LeaseKeeper {
  /** Aborted when the lease was lost (another worker may own the job now): stop working on it. */
  signal: AbortSignal;
  /** Stops renewing (before releaseJob). */
  stop: () => void;
}

/**
 * Renews workerId's lease on jobId every renewEveryMs while the job runs. A renewal that finds
 * the lease gone aborts `signal`; a renewal that fails (store unreachable) is tried again at the
 * next tick, and the lease is declared lost once it has expired without a successful renewal.
 */
export function keepLease(
  db: Kysely<any>,
  jobId: string,
  workerId: string,
  opts: Omit<LeaseOptions, 'now'> & { leaseMs?: number; renewEveryMs?: number } = {},
): LeaseKeeper {
  const leaseMs = opts.leaseMs ?? DEFAULTS.jobLease.leaseMs;
  const every = opts.renewEveryMs ?? Math.max(1, Math.floor(leaseMs / 3));
  const controller = new AbortController();
  let heldUntil = Date.now() + leaseMs;
  let busy = false;
  const timer = setInterval(() => {
    if (busy || controller.signal.aborted) return;
    busy = true;
    const now = Date.now();
    renewLease(db, jobId, workerId, leaseMs, { spec: opts.spec, now })
      .then(
        (held) => {
          if (held) heldUntil = now + leaseMs;
          else controller.abort(new Error(`lease on job ${jobId} lost`));
        },
        () => {
          if (Date.now() >= heldUntil) controller.abort(new Error(`lease on job ${jobId} expired: the store could not be reached to renew it`));
        },
      )
      .finally(() => (busy = false));
  }, every);
  timer.unref();
  const stop = () => clearInterval(timer);
  controller.signal.addEventListener('abort', stop, { once: true });
  return { signal: controller.signal, stop };
}
