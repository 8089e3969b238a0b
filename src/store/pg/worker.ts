/**
 * The worker thread behind the PostgreSQL state store (pg-store.ts): the main thread
 * blocks on each call (synckit) while this runs it on the store's own connection. One
 * worker serves every PgStore of a process; each has a handle and a connection of its own.
 */
import pg from 'pg';
import { runAsWorker } from 'synckit';
import { DEFAULTS } from '../../core/defaults.js';
import { migrate } from './migrate.js';
import { queries, type QueryName } from './queries.js';
import { PG_SCHEMA } from './schema.js';

interface Conn {
  url: string;
  client?: pg.Client;
}

const conns = new Map<number, Conn>();
let nextHandle = 1;

/** The handle's connection, connected again when the last one broke (a restarted server, a dropped link). */
async function client(handle: number): Promise<pg.Client> {
  const conn = conns.get(handle);
  if (!conn) throw new Error('the state store is closed');
  if (conn.client) return conn.client;
  const c = new pg.Client({ connectionString: conn.url, application_name: 'gantry-engine', connectionTimeoutMillis: DEFAULTS.pgConnectTimeoutMs });
  // A broken connection is dropped here and opened again on the next call.
  c.on('error', () => {
    if (conn.client === c) conn.client = undefined;
  });
  await c.connect();
  await c.query(`SET search_path TO ${PG_SCHEMA}`);
  conn.client = c;
  return c;
}

export type WorkerCall = { op: 'open'; url: string } | { op: 'close'; handle: number } | { op: 'query'; handle: number; name: QueryName; args: unknown[] };

async function run(call: WorkerCall): Promise<unknown> {
  if (call.op === 'open') {
    const handle = nextHandle++;
    conns.set(handle, { url: call.url });
    try {
      const c = await client(handle);
      return { handle, version: await migrate(c) };
    } catch (e) {
      await closeHandle(handle);
      throw e;
    }
  }
  if (call.op === 'close') return closeHandle(call.handle);
  const c = await client(call.handle);
  const fn = queries[call.name] as (c: pg.Client, ...args: unknown[]) => Promise<unknown>;
  try {
    return await fn(c, ...call.args);
  } catch (e) {
    // A connection that broke mid-call is not used again.
    if (!(e instanceof pg.DatabaseError)) {
      const conn = conns.get(call.handle);
      if (conn?.client === c) conn.client = undefined;
      await c.end().catch(() => undefined);
    }
    throw e;
  }
}

async function closeHandle(handle: number): Promise<void> {
  const conn = conns.get(handle);
  conns.delete(handle);
  await conn?.client?.end().catch(() => undefined);
}

runAsWorker(run);
