/** Reading the proxy's access log (JSON lines written by the node agent) as log lines. */
import { existsSync } from 'node:fs';
import type { LogLine } from '../../engine/target.js';
import { followLog, tailLines } from '../../supervisor/index.js';

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
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  const ac = new AbortController();
  opts.signal?.addEventListener('abort', () => {
    ac.abort();
    wake?.();
  });
  followLog(
    file,
    (raw) => {
      const l = toLine(raw);
      if (l) queue.push(l);
      wake?.();
    },
    ac.signal,
    { fromStart: !existsSync(file) },
  );
  try {
    while (!ac.signal.aborted) {
      if (queue.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      while (queue.length) yield queue.shift()!;
    }
  } finally {
    ac.abort();
  }
}
