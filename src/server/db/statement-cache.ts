/**
 * better-sqlite3 with its prepared statements kept: kysely's SQLite driver prepares every
 * query anew, which was the largest cost of a cached-key GET (a prepare parses and plans the SQL).
 * A statement is reusable once its all()/run() returned; kysely never holds one open across queries
 * except to iterate (streaming), which the server does not use.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Distinct SQL texts kept; the server's are a few dozen, so this only bounds odd growth. */
const MAX_STATEMENTS = 500;

export function withStatementCache(db: Database): SqliteDatabase {
  const cache = new Map<string, Statement>();
  return {
    close: () => db.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (!stmt) {
        if (cache.size >= MAX_STATEMENTS) cache.clear();
        stmt = db.prepare(sql);
        cache.set(sql, stmt);
      }
      return stmt as unknown as ReturnType<SqliteDatabase['prepare']>;
    },
  };
}
