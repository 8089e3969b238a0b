/** The real PostgreSQL the server's tests use (scripts/postgres-setup.sh): fresh databases, dropped after. */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { PG_ADMIN_URL, createTestDatabase, postgresProblem } from '../helpers/postgres.js';

describe.skipIf(postgresProblem)(`test PostgreSQL ${postgresProblem ?? ''}`, () => {
  it('createTestDatabase gives a fresh, separate, writable database on loopback and drop removes it', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    expect(a.name).not.toBe(b.name);
    expect(new URL(a.url).hostname).toBe('127.0.0.1');
    const client = new pg.Client({ connectionString: a.url });
    await client.connect();
    try {
      expect((await client.query(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`)).rows[0].n).toBe(0);
      await client.query('create table t (x int)');
      await client.query('insert into t values (1)');
      expect((await client.query('select server_version_num::int >= 130000 as ok from (select current_setting($1) as server_version_num) s', ['server_version_num'])).rows[0].ok).toBe(true);
    } finally {
      await client.end();
    }
    await a.drop();
    await b.drop();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      const left = await admin.query('select datname from pg_database where datname = any($1)', [[a.name, b.name]]);
      expect(left.rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});
