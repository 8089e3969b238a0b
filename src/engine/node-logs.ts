/**
 * Logs of several nodes as one stream, each line tagged with its node. The
 * backlog (`-n` lines per node) comes in time order across nodes; followed
 * lines are merged as they arrive. Aborting `signal` ends every node's
 * follower and the stream at once, even a node whose follower does not watch
 * the signal (a hung connection): it is told to return and not waited for.
 */
import type { LogLine, TargetRuntime } from './target.js';

export interface LogSource {
  name: string;
  runtime: TargetRuntime;
}

export interface LogOptions {
  lines: number;
  follow: boolean;
  signal?: AbortSignal;
}

const byTime = (a: LogLine, b: LogLine): number => (a.at ?? '').localeCompare(b.at ?? '');

export async function* nodeLogs(nodes: LogSource[], opts: LogOptions): AsyncGenerator<LogLine> {
  const iterators = nodes.map((n) => tagged(n, opts)[Symbol.asyncIterator]());
  try {
    if (!opts.follow) {
      const backlog = (await Promise.all(iterators.map(drain))).flat();
      yield* backlog.sort(byTime);
      return;
    }
    const aborted = new Promise<'aborted'>((resolve) => {
      if (opts.signal?.aborted) resolve('aborted');
      opts.signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    const next = (i: number) => iterators[i]!.next().then((r) => ({ i, r }));
    const pending = new Map(iterators.map((_, i) => [i, next(i)]));
    while (pending.size) {
      const first = await Promise.race([aborted, ...pending.values()]);
      if (first === 'aborted') return;
      const { i, r } = first;
      if (r.done) pending.delete(i);
      else {
        pending.set(i, next(i));
        yield r.value;
      }
    }
  } finally {
    // Ends followers still running (their own signal handling aside); never waits for them.
    for (const it of iterators) void it.return?.(undefined)?.catch(() => undefined);
  }
}

async function* tagged(n: LogSource, opts: LogOptions): AsyncGenerator<LogLine> {
  for await (const l of n.runtime.logs(opts)) yield { ...l, node: n.name };
}

async function drain(it: AsyncIterator<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  return out;
}
