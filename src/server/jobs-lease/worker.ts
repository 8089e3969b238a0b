import type { Kysely } from 'kysely';
import { DEFAULTS } from '../../core/defaults.js';
import { keepLease } from './keeper.js';
import { claimNextJob, reclaimExpired, releaseJob } from './lease.js';
import type { Job, JobTableSpec } from './table.js';

export interface JobWorkerOptions {
  /** Unique per replica and process (e.g. `<hostname>:<pid>:<random>`). */
  workerId: string;
  leaseMs?: number;
  renewEveryMs?: number;
  /** Pause between claims when the queue is empty. */
  pollMs?: number;
  maxAttempts?: number;
  spec?: JobTableSpec;
  /** A failed sweep or claim (store unreachable); the worker goes on. */
  onError?: (err: unknown) => void;
}

/**
 * Runs one job at a time: sweeps expired leases back into the queue, claims, keeps the lease
 * while `run` works, and records the outcome `run` returns. `run` gets an AbortSignal that fires
 * when the lease is lost (another replica owns the job: stop without recording anything), and
 * job.attempts > 1 when the job is a resumption after a lost worker (resume its stored plan).
 * A `run` that throws records the job failed.
 */
export class JobWorker {
  private loop: Promise<void> | undefined;
  private stopping = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly db: Kysely<any>,
    private readonly run: (job: Job, signal: AbortSignal) => Promise<'succeeded' | 'failed'>,
    private readonly opts: JobWorkerOptions,
  ) {}

  start(): void {
    if (this.loop) return;
    this.stopping = false;
    this.loop = this.work();
  }

  /** Stops claiming; resolves when the job in hand (if any) has ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  private async work(): Promise<void> {
    const leaseMs = this.opts.leaseMs ?? DEFAULTS.jobLease.leaseMs;
    const pollMs = this.opts.pollMs ?? 1_000;
    while (!this.stopping) {
      let job: Job | undefined;
      try {
        await reclaimExpired(this.db, { spec: this.opts.spec, maxAttempts: this.opts.maxAttempts });
        job = await claimNextJob(this.db, this.opts.workerId, leaseMs, { spec: this.opts.spec });
      } catch (e) {
        this.opts.onError?.(e);
      }
      if (!job) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, pollMs);
          this.wake = () => {
            clearTimeout(t);
            r();
          };
        });
        continue;
      }
      const keeper = keepLease(this.db, job.id, this.opts.workerId, { leaseMs, renewEveryMs: this.opts.renewEveryMs, spec: this.opts.spec });
      let outcome: 'succeeded' | 'failed';
      try {
        outcome = await this.run(job, keeper.signal);
      } catch (e) {
        this.opts.onError?.(e);
        outcome = 'failed';
      }
      keeper.stop();
      if (keeper.signal.aborted) continue; // not ours any more: the new owner records the outcome
      await releaseJob(this.db, job.id, this.opts.workerId, outcome, { spec: this.opts.spec }).catch((e) => this.opts.onError?.(e));
    }
  }
}
