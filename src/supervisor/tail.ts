import { open, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { cutLine, truncatedMarker, truncateToBytes } from '../core/bounded.js';
import { DEFAULTS } from '../core/defaults.js';

const CHUNK = 64 * 1024;

/**
 * Last n lines of a log, reaching into its rotated predecessor `<file>.1` when the current file is short.
 * Missing files count as empty. A line longer than `maxLineBytes` is cut (with a marker), so the result
 * stays small however long the lines in the file are.
 */
export async function tailLines(file: string, n: number, maxLineBytes: number = DEFAULTS.output.maxLineBytes): Promise<string[]> {
  if (!(n > 0)) return [];
  const lines = await lastLines(file, n, maxLineBytes);
  if (lines.length >= n) return lines;
  const older = await lastLines(`${file}.1`, n - lines.length, maxLineBytes);
  return older.length === 0 ? lines : [...older, ...lines];
}

/**
 * Finds where the last n lines start by reading backwards in chunks (keeping only
 * newline offsets, not the data), then reads at most maxLineBytes of each line.
 */
async function lastLines(file: string, n: number, maxLineBytes: number): Promise<string[]> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    let end = size;
    // A final newline ends the last line; it does not start an empty one.
    if (end > 0) {
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, end - 1);
      if (last[0] === 0x0a) end--;
    }
    // starts[i] = offset where a line begins; collected newest first.
    const starts: number[] = [];
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = end;
    while (pos > 0 && starts.length < n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      for (let i = bytesRead - 1; i >= 0 && starts.length < n; i--) if (buf[i] === 0x0a) starts.push(pos + i + 1);
    }
    if (end === 0) return size > 0 ? [''] : [];
    if (pos === 0 && starts.length < n) starts.push(0);
    starts.reverse();
    const lines: string[] = [];
    for (let i = 0; i < starts.length; i++) {
      const from = starts[i]!;
      const to = i + 1 < starts.length ? starts[i + 1]! - 1 : end;
      // One byte past the cap tells cutLine where a character ends.
      const b = Buffer.allocUnsafe(Math.min(to - from, maxLineBytes + 1));
      const { bytesRead } = await fh.read(b, 0, b.length, from);
      lines.push(cutLine(b.subarray(0, bytesRead), to - from, maxLineBytes));
    }
    return lines;
  } finally {
    await fh.close();
  }
}

export interface FollowOptions {
  /** How often the file is checked for new data and rotation. Default 200 ms. */
  intervalMs?: number;
  /** Read the file from its beginning instead of its current end. */
  fromStart?: boolean;
  /** A longer line is cut with a marker. Default DEFAULTS.output.maxLineBytes. */
  maxLineBytes?: number;
}

/**
 * `tail -f`: calls onLine for every line appended after the call (use
 * tailLines for history). Survives rotation: when the path points at a new
 * file (or the file shrank), the rest of the old one is read, then the new one
 * from its start. Polls, because fs.watch loses renamed files. Stops on abort.
 * Errors thrown by onLine are ignored so a bad consumer cannot crash the host.
 */
export function followLog(file: string, onLine: (line: string) => void, signal: AbortSignal, opts: FollowOptions = {}): void {
  const intervalMs = opts.intervalMs ?? 200;
  let fh: FileHandle | undefined;
  let ino = 0;
  let pos = 0;
  let first = true;
  let decoder = new StringDecoder('utf8');
  // The line being read; past the line cap only its length is counted (memory stays bounded).
  let partial = '';
  let partialExtra = 0;
  const maxLineBytes = opts.maxLineBytes ?? DEFAULTS.output.maxLineBytes;
  let timer: NodeJS.Timeout | undefined;
  const buf = Buffer.allocUnsafe(CHUNK);

  const emit = (text: string): void => {
    if (signal.aborted) return;
    try {
      onLine(text);
    } catch {
      /* consumer error: keep following */
    }
  };

  const append = (seg: string): void => {
    if (partialExtra > 0) {
      partialExtra += Buffer.byteLength(seg);
      return;
    }
    partial += seg;
    if (partial.length * 3 <= maxLineBytes) return;
    const bytes = Buffer.byteLength(partial);
    if (bytes <= maxLineBytes) return;
    partial = truncateToBytes(partial, maxLineBytes);
    partialExtra = bytes - Buffer.byteLength(partial);
  };

  const emitPartial = (): void => {
    emit(partialExtra > 0 ? partial + truncatedMarker(partialExtra) : partial);
    partial = '';
    partialExtra = 0;
  };

  const readToEnd = async (h: FileHandle): Promise<void> => {
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      const text = decoder.write(buf.subarray(0, bytesRead));
      for (let start = 0; ; ) {
        const nl = text.indexOf('\n', start);
        append(nl < 0 ? text.slice(start) : text.slice(start, nl));
        if (nl < 0) break;
        emitPartial();
        start = nl + 1;
      }
    }
  };

  const closeCurrent = async (): Promise<void> => {
    append(decoder.end());
    if (partial !== '' || partialExtra > 0) emitPartial();
    decoder = new StringDecoder('utf8');
    const h = fh;
    fh = undefined;
    await h?.close().catch(() => undefined);
  };

  const tick = async (): Promise<void> => {
    if (!fh) {
      try {
        fh = await open(file, 'r');
      } catch {
        first = false; // appears later: everything in it is new
        return;
      }
      const st = await fh.stat();
      ino = st.ino;
      pos = first && !opts.fromStart ? st.size : 0;
      first = false;
    }
    await readToEnd(fh);
    let st: { ino: number; size: number } | undefined;
    try {
      st = await stat(file);
    } catch {
      st = undefined;
    }
    if (st === undefined || st.ino !== ino) {
      await readToEnd(fh); // what was written before the rename
      await closeCurrent();
    } else if (st.size < pos) {
      pos = 0; // truncated in place
    }
  };

  const loop = (): void => {
    if (signal.aborted) return;
    tick()
      .catch(() => undefined)
      .finally(() => {
        if (signal.aborted) void closeCurrent();
        else timer = setTimeout(loop, intervalMs);
      });
  };

  signal.addEventListener(
    'abort',
    () => {
      clearTimeout(timer);
      void closeCurrent();
    },
    { once: true },
  );
  loop();
}
