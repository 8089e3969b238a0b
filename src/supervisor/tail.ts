import { open, stat, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 64 * 1024;

/** Last n lines of a log, reaching into its rotated predecessor `<file>.1` when the current file is short. Missing files count as empty. */
export async function tailLines(file: string, n: number): Promise<string[]> {
  if (!(n > 0)) return [];
  const lines = await lastLines(file, n);
  if (lines.length >= n) return lines;
  const older = await lastLines(`${file}.1`, n - lines.length);
  return older.length === 0 ? lines : [...older, ...lines];
}

/** Reads backwards in chunks until n whole lines are in hand. */
async function lastLines(file: string, n: number): Promise<string[]> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const size = (await fh.stat()).size;
    const chunks: Buffer[] = [];
    let pos = size;
    let newlines = 0;
    // n lines need n+1 newlines in view (the one ending the line before them), unless we reach the start.
    while (pos > 0 && newlines <= n) {
      const len = Math.min(CHUNK, pos);
      pos -= len;
      const buf = Buffer.allocUnsafe(len);
      const { bytesRead } = await fh.read(buf, 0, len, pos);
      const got = buf.subarray(0, bytesRead);
      for (let i = 0; i < got.length; i++) if (got[i] === 0x0a) newlines++;
      chunks.unshift(got);
    }
    const lines = Buffer.concat(chunks).toString('utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    if (pos > 0) lines.shift(); // cut mid-line
    return lines.slice(-n);
  } finally {
    await fh.close();
  }
}

export interface FollowOptions {
  /** How often the file is checked for new data and rotation. Default 200 ms. */
  intervalMs?: number;
  /** Read the file from its beginning instead of its current end. */
  fromStart?: boolean;
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
  let partial = '';
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

  const readToEnd = async (h: FileHandle): Promise<void> => {
    for (;;) {
      const { bytesRead } = await h.read(buf, 0, CHUNK, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      const text = partial + decoder.write(buf.subarray(0, bytesRead));
      const parts = text.split('\n');
      partial = parts.pop()!;
      for (const line of parts) emit(line);
    }
  };

  const closeCurrent = async (): Promise<void> => {
    const rest = partial + decoder.end();
    if (rest !== '') emit(rest);
    partial = '';
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
