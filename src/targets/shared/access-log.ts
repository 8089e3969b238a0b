/** Reading the proxy's access log (JSON lines written by the node agent) as log lines. */
import { existsSync } from 'node:fs';
import type { LogLine } from '../../engine/target.js';
import { followLog, tailLines } from '../../supervisor/index.js';
import { PushedQueue } from './pushed-queue.js';

function toLine(raw: string): LogLine | undefined {
  try {
    const e = JSON.parse(raw) as { at: string; method: string; path: string; status: number; ms: number; instance?: string; release?: string };
    return { at: e.at, instance: e.instance ?? '-', stream: 'access', text: `${e.method} ${e.path} ${e.status || 'client gone'} ${e.ms}ms`, request: { method: e.method, path: e.path, status: e.status, ms: e.ms, release: e.release } };
  } catch {
    return undefined; // a line cut by the size cap
  }
}

export async function* readAccessLog(file: string, opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine> {
  if (existsSync(file)) for (const raw of await tailLines(file, opts.lines)) {
    const l = toLine(raw);
    if (l) yield l;
  }
  if (!opts.follow) return;
  const queue = new PushedQueue<LogLine>(opts.signal);
  followLog(
    file,
    (raw) => {
      const l = toLine(raw);
      if (l) queue.push(l);
    },
    queue.signal,
    { fromStart: !existsSync(file) },
  );
  yield* queue.drain();
}
