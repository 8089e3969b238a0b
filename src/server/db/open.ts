/**
 * The server's database: SQLite (better-sqlite3) by default in the data dir, or
 * PostgreSQL with a postgres:// URL, through one kysely query layer and the same migrations.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, Migrator, SqliteDialect, PostgresDialect, type MigrationProvider } from 'kysely';
import { GantryError } from '../../core/errors.js';
import { MIGRATIONS } from './migrations.js';
import type { ServerDatabase } from './schema.js';
import { withStatementCache } from './statement-cache.js';

export type DialectName = 'sqlite' | 'postgres';

export interface ServerDb {
  db: Kysely<ServerDatabase>;
  dialect: DialectName;
  /** Where it is, for messages (a PostgreSQL URL without its password). */
  where: string;
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: async () => MIGRATIONS };

/** `database`: a postgres:// URL, or a SQLite file path. Migrates before returning. */
export async function openServerDb(database: string): Promise<ServerDb> {
  let out: ServerDb;
  if (/^postgres(ql)?:\/\//.test(database)) {
    const pg = (await import('pg')).default;
    const pool = new pg.Pool({ connectionString: database, max: 10 });
    const db = new Kysely<ServerDatabase>({ dialect: new PostgresDialect({ pool }) });
    out = { db, dialect: 'postgres', where: database.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@'), close: () => db.destroy() };
  } else {
    mkdirSync(dirname(database), { recursive: true, mode: 0o700 });
    const sqlite = new Database(database);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('busy_timeout = 5000');
    // WAL's own durability level: a commit survives a crash of the process (not of the machine's power).
    sqlite.pragma('synchronous = NORMAL');
    const db = new Kysely<ServerDatabase>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
    out = { db, dialect: 'sqlite', where: database, close: () => db.destroy() };
  }
  const { error, results } = await new Migrator({ db: out.db, provider }).migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    await out.close();
    throw new GantryError('INTERNAL', `migrating the server database ${out.where} failed${failed ? ` at ${failed.migrationName}` : ''}: ${(error as Error | undefined)?.message ?? 'unknown error'}`, 'check the database is reachable and writable');
  }
  return out;
}
