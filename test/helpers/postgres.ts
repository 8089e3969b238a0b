import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The real PostgreSQL that scripts/postgres-setup.sh starts (127.0.0.1:55432, role gantry).
 * GANTRY_TEST_PG_URL points the tests at another server (its role needs CREATEDB).
 */
export const PG_ADMIN_URL = process.env.GANTRY_TEST_PG_URL ?? 'postgres://gantry:gantry@127.0.0.1:55432/postgres';

/** Why PostgreSQL cannot be used here, or undefined when it can. Tests name this reason when they skip. */
export const postgresProblem: string | undefined = await (async () => {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (e) {
    return `no PostgreSQL at ${redactUrl(PG_ADMIN_URL)} (${(e as Error).message}); scripts/postgres-setup.sh starts one as root`;
  } finally {
    await client.end().catch(() => undefined);
  }
})();

export interface TestDatabase {
  /** Connection string of a fresh, empty database. */
  url: string;
  name: string;
  /** Drops the database (ending any connection still open to it). */
  drop: () => Promise<void>;
}

/** A fresh database of its own for one test file or test: nothing shared, dropped afterwards. */
export async function createTestDatabase(prefix = 'gantry_test'): Promise<TestDatabase> {
  if (postgresProblem) throw new Error(postgresProblem);
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  if (!/^[a-z0-9_]{1,63}$/.test(name)) throw new Error(`bad test database name ${name}`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function redactUrl(u: string): string {
  try {
    const url = new URL(u);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparsable url)';
  }
}
