import type { AccessEntry } from '../proxy/index.js';
import type { LogFile } from '../supervisor/index.js';

/** Past this many buffered characters a batch goes out at once rather than at the timer. */
const MAX_BATCH_CHARS = 256 * 1024;

/**
 * The proxy's access log: one JSON line per request, gathered for flushMs and
 * handed to the log file as one write, so a busy proxy writes a few times a
 * second instead of once per request. close() writes what is gathered first.
 */
export class BatchedAccessLog {
  private lines: string[] = [];
  private chars = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: LogFile,
    private readonly flushMs: number,
  ) {}

  /** The proxy's onAccess. */
  readonly record = (e: AccessEntry): void => {
    const line = JSON.stringify(e);
    this.lines.push(line);
    this.chars += line.length + 1;
    if (this.chars >= MAX_BATCH_CHARS) this.flush();
    // unref: a pending batch never keeps the agent alive; close() writes it.
    else if (this.timer === undefined) (this.timer = setTimeout(this.flush, this.flushMs)).unref();
  };

  /** Hands the gathered lines to the log file (which writes them asynchronously). */
  readonly flush = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.chars = 0;
    this.file.write(text);
  };

  async close(): Promise<void> {
    this.flush();
    await this.file.close();
  }
}
