/** A real `gantry server` child process on loopback, and a small JSON client for it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, gantry, killAgentsIn } from './cli.js';

export interface ServerProc {
  url: string;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** Ends when the process has exited. */
  exited: Promise<void>;
}

/**
 * GANTRY_TEST_PG=postgres://user@host:port/db runs the servers on PostgreSQL: each data
 * dir gets a fresh database of its own (the server's tables and the engine's state), unless
 * shareDatabase gives it another's (replicas with data dirs of their own on one database).
 */
const databases = new Map<string, string>();

async function databaseFor(dataDir: string): Promise<string | undefined> {
  const base = process.env.GANTRY_TEST_PG;
  if (!base) return undefined;
  const known = databases.get(dataDir);
  if (known) return known;
  const name = `gantry_t_${Math.random().toString(36).slice(2, 10)}`;
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(base);
  url.pathname = `/${name}`;
  databases.set(dataDir, url.toString());
  return url.toString();
}

/** With GANTRY_TEST_PG: servers on `dataDir` use the database of `from` (replicas on separate data dirs). */
export async function shareDatabase(from: string, dataDir: string): Promise<void> {
  const url = await databaseFor(from);
  if (url) databases.set(dataDir, url);
}

/**
 * Rows of the engine's state of a data dir's server: its PostgreSQL database (schema
 * gantry_engine) with GANTRY_TEST_PG, else `<data>/engine/state.db`. `sql` uses `?` placeholders.
 */
export async function engineRows<T = Record<string, unknown>>(dataDir: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const url = await databaseFor(dataDir);
  if (!url) {
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(join(dataDir, 'engine', 'state.db'), { readonly: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET search_path TO gantry_engine');
    let i = 0;
    return (await client.query(sql.replace(/\?/g, () => `$${++i}`), params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** The server's database of a data dir, opened like the server opens it (for fixtures and checks). */
export async function serverDb(dataDir: string) {
  const { openServerDb } = await import('../../src/server/db/open.js');
  return openServerDb((await databaseFor(dataDir)) ?? join(dataDir, 'server.db'));
}

export function newDataDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'gantry-server-')), 'data');
}

/** Start the server (a fresh data dir unless given) and wait until it listens (bounded). */
export async function startServer(opts: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {}): Promise<ServerProc> {
  const dataDir = opts.dataDir ?? newDataDir();
  const db = await databaseFor(dataDir);
  const child = spawn(process.execPath, [BIN, 'server', '--data-dir', dataDir, '--port', '0', ...(db ? ['--database', db] : []), ...(opts.args ?? [])], { env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) return { url: m[1]!, dataDir, child, output: () => out, exited };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function stopServer(s: ServerProc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill(signal);
  await Promise.race([s.exited, new Promise((r) => setTimeout(r, 10_000))]);
}

/** A key made directly on the data dir (`gantry keys create`), its token. */
export async function makeKey(dataDir: string, role: string, project?: string): Promise<string> {
  const db = await databaseFor(dataDir);
  const r = await gantry(['keys', 'create', '--role', role, '--data-dir', dataDir, '--json', ...(project ? ['--project', project] : []), ...(db ? ['--database', db] : [])], { cwd: tmpdir() });
  if (r.code !== 0) throw new Error(r.stdout + r.stderr);
  return r.json.token as string;
}

export interface ApiAnswer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export async function api(base: string, method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}

/** Read an SSE stream until an `end` event or the time limit; each event with its id. */
export async function readEvents(url: string, token: string, opts: { lastEventId?: string; maxMs?: number; until?: (e: SseEvent) => boolean } = {}): Promise<SseEvent[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.maxMs ?? 120_000);
  const events: SseEvent[] = [];
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}) }, signal: ac.signal });
    if (res.status !== 200) throw new Error(`SSE ${res.status}: ${await res.text()}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const e: SseEvent = { event: 'message', data: undefined };
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
        }
        events.push(e);
        if (e.event === 'end' || opts.until?.(e)) return events;
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

export interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Poll a deployment until it is final (bounded). */
export async function waitFinal(base: string, token: string, id: string, maxMs = 120_000): Promise<any> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const r = await api(base, 'GET', `/api/v1/deployments/${id}`, { token });
    if (['succeeded', 'failed', 'rolled_back', 'cancelled'].includes(r.body?.status)) return r.body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${r.body?.status}`);
    await new Promise((res) => setTimeout(res, 250));
  }
}

/** `gantry <args> --data-dir D` with the data dir's database (audit, keys list). */
export async function serverCli(dataDir: string, args: string[], cwd: string) {
  const db = await databaseFor(dataDir);
  return gantry([...args, '--data-dir', dataDir, ...(db ? ['--database', db] : [])], { cwd });
}

/** Stop the agents the server's engine started (by the pid they recorded), for test cleanup. */
export function killServerAgents(dataDir: string): void {
  killAgentsIn(join(dataDir, 'engine', 'apps'));
}
