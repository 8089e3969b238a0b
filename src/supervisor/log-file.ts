import { EventEmitter } from 'node:events';
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/**
 * Log format, one line per line the app printed:
 *
 *   2026-11-24T01:02:03.456Z out <line as printed>
 *   2026-11-24T01:02:03.456Z err <line as printed>
 *   2026-11-24T01:02:03.456Z sys <supervisor event: started, exited, restarting ...>
 *
 * The timestamp is when the supervisor read the chunk holding the line.
 */
export type LogStream = 'out' | 'err' | 'sys';

/** Past this much unwritten text, write() returns false and the caller pauses its sources. */
const HIGH_WATER = 1024 * 1024;
/** A line without a newline is cut here so memory stays bounded. */
const MAX_LINE = 64 * 1024;

/**
 * An append-only, size-capped log: when the next write would take the file
 * past maxBytes it is renamed to `<file>.1` (replacing the older one) and a
 * new file is started. Writes are queued and flushed by one async loop, so
 * the host's event loop never blocks on the disk.
 */
export class LogFile extends EventEmitter {
  private fh: FileHandle | undefined;
  private size = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** Last write error (disk full, permissions): lines are dropped rather than crashing the host. */
  lastError: Error | undefined;

  constructor(
    readonly path: string,
    readonly maxBytes: number,
  ) {
    super();
  }

  /** Queues text (whole lines); false = over the high-water mark, wait for 'drain'. */
  write(text: string): boolean {
    if (this.closed) return true;
    this.pending.push(text);
    this.pendingBytes += text.length;
    this.flushing ??= this.flushLoop();
    return this.pendingBytes < HIGH_WATER;
  }

  line(stream: LogStream, text: string): boolean {
    return this.write(`${new Date().toISOString()} ${stream} ${text}\n`);
  }

  /** Resolves when everything queued so far is on disk. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const wasOver = this.pendingBytes >= HIGH_WATER;
        const data = Buffer.from(this.pending.join(''));
        this.pending = [];
        this.pendingBytes = 0;
        try {
          await this.writeCapped(data);
        } catch (err) {
          this.lastError = err as Error;
          await this.fh?.close().catch(() => undefined);
          this.fh = undefined;
        }
        if (wasOver) this.emit('drain');
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeCapped(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const fh = await this.ensureOpen();
      const room = this.maxBytes - this.size;
      let end = data.length;
      if (end - offset > room) {
        if (this.size > 0) {
          await this.rotate();
          continue;
        }
        // Empty file and still too much: write up to the last whole line that fits.
        const nl = room > 0 ? data.lastIndexOf(0x0a, offset + room - 1) : -1;
        end = nl >= offset ? nl + 1 : offset + Math.max(room, 1);
      }
      const { bytesWritten } = await fh.write(data, offset, end - offset);
      offset += bytesWritten;
      this.size += bytesWritten;
    }
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(this.path, 'a');
    this.size = (await fh.stat()).size;
    this.fh = fh;
    return fh;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    await rename(this.path, `${this.path}.1`).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    this.size = 0;
  }
}

/** Splits one child stream into timestamped log lines. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(
    private readonly log: LogFile,
    private readonly stream: LogStream,
  ) {}

  /** Returns false when the log is over its high-water mark. */
  push(chunk: Buffer): boolean {
    const text = this.partial + this.decoder.write(chunk);
    const last = text.lastIndexOf('\n');
    if (last < 0) {
      this.partial = text;
      if (text.length < MAX_LINE) return true;
      this.partial = '';
      return this.log.line(this.stream, text);
    }
    this.partial = text.slice(last + 1);
    const prefix = `${new Date().toISOString()} ${this.stream} `;
    let out = '';
    let start = 0;
    while (start <= last) {
      const nl = text.indexOf('\n', start);
      out += prefix + text.slice(start, nl + 1);
      start = nl + 1;
    }
    if (this.partial.length >= MAX_LINE) {
      out += `${prefix}${this.partial}\n`;
      this.partial = '';
    }
    return this.log.write(out);
  }

  /** The stream ended: a last line without a newline is still a line. */
  end(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.log.line(this.stream, rest);
  }
}
