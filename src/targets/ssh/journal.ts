import type { LogLine } from '../../engine/target.js';
import type { SshConnection } from './connection.js';

/**
 * Instance output from journald on the host (`journalctl -o json`): each instance unit's
 * stdout/stderr, and systemd's own lines about it (started, exited, restarting) as `sys`.
 */
interface JournalEntry {
  __CURSOR?: string;
  __REALTIME_TIMESTAMP?: string;
  MESSAGE?: string | number[] | null;
  PRIORITY?: string;
  _PID?: string;
  _SYSTEMD_UNIT?: string;
  UNIT?: string;
}

/** gantry-<app>@<id>.service -> <id>. */
function instanceOf(unit: string | undefined, prefix: string): string | undefined {
  return unit?.startsWith(prefix) && unit.endsWith('.service') ? unit.slice(prefix.length, -'.service'.length) : undefined;
}

export function parseJournal(text: string, unitPrefix: string): { lines: LogLine[]; cursor?: string } {
  const lines: LogLine[] = [];
  let cursor: string | undefined;
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    let e: JournalEntry;
    try {
      e = JSON.parse(raw) as JournalEntry;
    } catch {
      continue;
    }
    cursor = e.__CURSOR ?? cursor;
    const fromSystemd = e._PID === '1';
    const instance = instanceOf(fromSystemd ? e.UNIT : (e._SYSTEMD_UNIT ?? e.UNIT), unitPrefix);
    if (!instance) continue;
    const message = Array.isArray(e.MESSAGE) ? Buffer.from(e.MESSAGE).toString('utf8') : String(e.MESSAGE ?? '');
    const at = e.__REALTIME_TIMESTAMP ? new Date(Number(BigInt(e.__REALTIME_TIMESTAMP) / 1000n)).toISOString() : undefined;
    lines.push({ ...(at ? { at } : {}), instance, stream: fromSystemd ? 'sys' : Number(e.PRIORITY ?? 6) <= 3 ? 'err' : 'out', text: message });
  }
  return { lines, ...(cursor ? { cursor } : {}) };
}

/** The last `lines` lines of these instance units (or every unit of the prefix), then, with `follow`, new lines as they come. */
export async function* journalLines(conn: SshConnection, opts: { unitPrefix: string; ids?: string[]; lines: number; follow: boolean; signal?: AbortSignal; pollMs?: number }): AsyncIterable<LogLine> {
  const units = opts.ids ? opts.ids.map((id) => `${opts.unitPrefix}${id}.service`) : [`${opts.unitPrefix}*.service`];
  const base = ['journalctl', '--no-pager', '-o', 'json', ...units.flatMap((u) => ['-u', u])];
  // One entry more than asked: its cursor is where following starts, also for `lines: 0`.
  const started = Math.floor(Date.now() / 1000);
  const first = await conn.exec([...base, '-n', String(opts.lines + 1)]);
  const backlog = parseJournal(first.stdout.toString('utf8'), opts.unitPrefix);
  let cursor = backlog.cursor;
  yield* opts.lines > 0 ? backlog.lines.slice(-opts.lines) : [];
  if (!opts.follow) return;
  // Polled with the journal's cursor: one short command per interval on the open connection.
  while (!opts.signal?.aborted) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, opts.pollMs ?? 1_000);
      opts.signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
    });
    if (opts.signal?.aborted) return;
    // No entry yet (no cursor): those since following began (by this machine's clock, a second early).
    const next = await conn.exec(cursor ? [...base, '--after-cursor', cursor] : [...base, '--since', `@${started - 1}`]);
    const more = parseJournal(next.stdout.toString('utf8'), opts.unitPrefix);
    cursor = more.cursor ?? cursor;
    yield* more.lines;
  }
}
