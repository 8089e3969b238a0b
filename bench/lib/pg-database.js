// A scratch PostgreSQL database for a bench, on the test cluster (scripts/postgres-setup.sh).
import pg from 'pg';

const ADMIN_URL = process.env.GANTRY_TEST_PG_URL ?? 'postgres://gantry:gantry@127.0.0.1:55432/postgres';

async function admin(sql) {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** Creates database `name` (an identifier the bench made: letters, digits, _) and returns its URL and a drop(). */
export async function createScratchDatabase(name) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
