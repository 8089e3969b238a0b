/**
 * Worker loops: each claims a job (with a lease it renews while the job runs),
 * runs it through the engine and records the outcome. Bounded: a loop ends when
 * stopped; a job's failure is the job's, never the loop's.
 */
import { hostname } from 'node:os';
import { isGantryError } from '../../core/errors.js';
import type { EngineFace } from '../engine-face.js';
import { newId } from '../ids.js';
import type { Job, JobQueue } from './queue.js';
import { runJob } from './run-job.js';

export interface WorkerOptions {
  count: number;
  leaseMs: number;
  pollMs: number;
  log: { info(o: object, msg: string): void; error(o: object, msg: string): void };
  onStarted?: (job: Job) => void;
  onFinished?: (job: Job, state: string, ms: number) => void;
}

export class Workers {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  readonly id = `${hostname()}:${process.pid}:${newId('w', 4)}`;
  /** When each loop last went round (readiness: workers alive). */
  readonly heartbeats: number[] = [];
  /** The idle loops' wake-ups: one field for all loops woke a loop that was already busy, and the idle ones slept to their next poll. */
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly face: EngineFace,
    private readonly queue: JobQueue,
    private readonly opts: WorkerOptions,
  ) {}

  start(): void {
    for (let i = 0; i < this.opts.count; i++) {
      this.heartbeats[i] = Date.now();
      this.loops.push(this.loop(i));
    }
  }

  /** A new job was queued: look now rather than at the next poll. */
  poke(): void {
    for (const wake of this.waiters) wake();
  }

  alive(): boolean {
    const limit = Math.max(this.opts.leaseMs, 10 * this.opts.pollMs);
    // A loop busy with a job beats through its lease renewals.
    return !this.stopped && this.heartbeats.every((t) => Date.now() - t < limit + 60_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.poke();
    await Promise.allSettled(this.loops);
  }

  private async loop(i: number): Promise<void> {
    const workerId = `${this.id}#${i}`;
    while (!this.stopped) {
      this.heartbeats[i] = Date.now();
      let job: Job | undefined;
      try {
        job = await this.queue.claimNextJob(workerId, this.opts.leaseMs);
      } catch (err) {
        this.opts.log.error({ err: (err as Error).message }, 'claiming a job failed');
      }
      if (!job) {
        await new Promise<void>((r) => {
          const wake = (): void => {
            clearTimeout(t);
            this.waiters.delete(wake);
            r();
          };
          const t = setTimeout(wake, this.opts.pollMs);
          this.waiters.add(wake);
        });
        continue;
      }
      await this.run(job, workerId, i);
    }
  }

  private async run(job: Job, workerId: string, i: number): Promise<void> {
    const started = Date.now();
    this.opts.log.info({ job: job.id, app: job.app, target: job.target, kind: job.kind, attempt: job.attempts }, 'job claimed');
    this.opts.onStarted?.(job);
    const renew = setInterval(() => {
      this.heartbeats[i] = Date.now();
      void this.queue.renew(job.id, workerId, this.opts.leaseMs).catch(() => false);
    }, Math.max(100, Math.floor(this.opts.leaseMs / 3)));
    try {
      const o = await runJob(this.face, this.queue, job, (msg, extra) => this.opts.log.error({ ...extra }, msg));
      await this.queue.finish(job.id, workerId, o.state, {
        result: o.result === undefined ? null : JSON.stringify(o.result),
        error: o.error ?? null,
        engine_deployment_id: o.engineDeploymentId ?? null,
        access_url: o.accessUrl ?? null,
        external_id: o.externalId ?? null,
      });
      this.opts.onFinished?.(job, o.state, Date.now() - started);
      this.opts.log.info({ job: job.id, state: o.state, ms: Date.now() - started }, 'job finished');
    } catch (err) {
      const e = isGantryError(err) ? err.toJSON() : { code: 'INTERNAL', message: (err as Error).message };
      await this.queue.appendEvent(job.id, { at: new Date().toISOString(), level: 'error', step: 'error', message: e.message, data: e }).catch(() => undefined);
      await this.queue.finish(job.id, workerId, 'failed', { error: e.message, result: JSON.stringify({ status: 'failed', error: e }) }).catch(() => undefined);
      this.opts.onFinished?.(job, 'failed', Date.now() - started);
      this.opts.log.error({ job: job.id, err: e.message }, 'job failed');
    } finally {
      clearInterval(renew);
    }
  }
}
