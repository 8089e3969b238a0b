import type pg from 'pg';
import { PG_MIGRATIONS, PG_SCHEMA } from './schema.js';

/**
 * Applies the migrations this database lacks, once: under a transaction-scoped advisory
 * lock, so replicas starting together queue here and each sees what the first applied.
 * Returns the schema version.
 */
export async function migrate(c: pg.ClientBase): Promise<number> {
  await c.query('BEGIN');
  try {
    await c.query("SELECT pg_advisory_xact_lock(hashtext('gantry_engine.migrate'))");
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${PG_SCHEMA}`);
    await c.query(`CREATE TABLE IF NOT EXISTS ${PG_SCHEMA}.migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`);
    const { rows } = await c.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${PG_SCHEMA}.migrations`);
    const have = rows[0]?.v ?? 0;
    if (have > PG_MIGRATIONS.length) throw new Error(`the engine's state on PostgreSQL is at schema ${have}, newer than this Gantry knows (${PG_MIGRATIONS.length})`);
    await c.query(`SET LOCAL search_path TO ${PG_SCHEMA}`);
    for (let v = have; v < PG_MIGRATIONS.length; v++) {
      await c.query(PG_MIGRATIONS[v]!);
      await c.query(`INSERT INTO ${PG_SCHEMA}.migrations(version, applied_at) VALUES ($1, $2)`, [v + 1, new Date().toISOString()]);
    }
    await c.query('COMMIT');
    return PG_MIGRATIONS.length;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}

/** Runs `fn` in one transaction on `c`. */
export async function inTransaction<T>(c: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    const r = await fn();
    await c.query('COMMIT');
    return r;
  } catch (e) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
