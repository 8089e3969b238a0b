/**
 * A running job's events, stored in order without a round trip each: an event is
 * written at once when no write is under way, and those arriving meanwhile go
 * together in the next transaction (with the engine's deployment id, once known).
 * Events are the job's narration: what makes a job resumable is the engine's own
 * stored plan, which the engine writes before it acts.
 */
import type { Job, JobEventInput, JobQueue } from './queue.js';

export class JobEventWriter {
  private pending: JobEventInput[] = [];
  private patch: Partial<Omit<Job, 'id'>> | undefined;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly queue: JobQueue,
    private readonly jobId: string,
    private readonly onError: (err: Error) => void,
  ) {}

  add(e: JobEventInput, patch?: Partial<Omit<Job, 'id'>>): void {
    this.pending.push(e);
    if (patch) this.patch = { ...this.patch, ...patch };
    this.writing ??= this.drain();
  }

  /** Everything added so far is stored (or its failure reported). */
  async flushed(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length || this.patch) {
        const events = this.pending;
        const patch = this.patch;
        this.pending = [];
        this.patch = undefined;
        await this.queue.appendEvents(this.jobId, events, patch).catch((err: unknown) => this.onError(err as Error));
      }
    } finally {
      this.writing = undefined;
    }
  }
}
