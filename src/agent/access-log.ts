import type { AccessEntry } from '../proxy/index.js';
import type { LogFile } from '../supervisor/index.js';

/** Past this many buffered bytes a batch goes out at once rather than at the timer. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * The proxy's access log: one JSON line per request, gathered for flushMs and
 * handed to the log file as one write, so a busy proxy writes a few times a
 * second instead of once per request. close() writes what is gathered first.
 *
 * Lines are encoded straight into one buffer outside V8's heap: a line kept as
 * a string until the flush would outlive young-generation collections and be
 * copied by each of them, at thousands of lines a second.
 */
export class BatchedAccessLog {
  private readonly buf = Buffer.allocUnsafe(MAX_BATCH_BYTES);
  private used = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly file: LogFile,
    private readonly flushMs: number,
  ) {}

  /** The proxy's onAccess. */
  readonly record = (e: AccessEntry): void => {
    const line = JSON.stringify(e);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    if (this.used + line.length * 3 + 1 > this.buf.length) {
      this.flush();
      if (line.length * 3 + 1 > this.buf.length) {
        // Never from the proxy, which caps method and path: such a line goes out on its own.
        this.file.write(`${line}\n`);
        return;
      }
    }
    this.used += this.buf.write(line, this.used, 'utf8');
    this.buf[this.used++] = 0x0a;
    if (this.used >= MAX_BATCH_BYTES - 4096) this.flush();
    // unref: a pending batch never keeps the agent alive; close() writes it.
    else if (this.timer === undefined) (this.timer = setTimeout(this.flush, this.flushMs)).unref();
  };

  /** Hands the gathered lines to the log file (which writes them asynchronously). */
  readonly flush = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.used === 0) return;
    const text = this.buf.toString('utf8', 0, this.used);
    this.used = 0;
    this.file.write(text);
  };

  async close(): Promise<void> {
    this.flush();
    await this.file.close();
  }
}
