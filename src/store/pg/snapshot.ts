/** An app's state between PostgreSQL and a SQLite state file (what backups carry). */
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../migrations.js';
import { SqliteStore } from '../store.js';
import { APP_TABLES, type AppRows, type AppTable } from './schema.js';

const TABLES = Object.keys(APP_TABLES) as AppTable[];
const SQLITE_WHERE: Record<AppTable, string> = {
  apps: 'name = ?',
  targets: 'app = ?',
  releases: 'app = ? ORDER BY created_at, id',
  deployments: 'app = ? ORDER BY created_at, rowid',
  steps: 'deployment_id IN (SELECT id FROM deployments WHERE app = ?) ORDER BY deployment_id, idx',
  events: 'app = ? ORDER BY seq',
};

/** A SQLite state database in memory, at the latest schema, holding these rows. */
export function sqliteFromRows(rows: AppRows): Database.Database {
  const db = new Database(':memory:');
  for (const m of MIGRATIONS) db.exec(m);
  db.pragma(`user_version = ${MIGRATIONS.length}`);
  db.transaction(() => {
    for (const table of TABLES) {
      const cols = APP_TABLES[table];
      const ins = db.prepare(`INSERT INTO ${table}(${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
      for (const r of rows[table]) ins.run(...cols.map((c) => r[c] ?? null));
    }
  })();
  return db;
}

/** The app's rows of a SQLite state file (brought to the latest schema first: a backup may be older). */
export function rowsFromSqliteFile(file: string, app: string): AppRows {
  const store = new SqliteStore(file);
  try {
    const out = {} as AppRows;
    for (const table of TABLES) out[table] = store.db.prepare(`SELECT ${APP_TABLES[table].join(', ')} FROM ${table} WHERE ${SQLITE_WHERE[table]}`).all(app) as AppRows[AppTable];
    return out;
  } finally {
    store.close();
  }
}
