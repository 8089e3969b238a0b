import { PostgresAdapter, SqliteAdapter, sql, type Kysely } from 'kysely';

/**
 * The minimal `jobs` table the lease functions work on (one definition for SQLite and PostgreSQL):
 *
 * | column           | type                  | meaning                                                        |
 * |------------------|-----------------------|----------------------------------------------------------------|
 * | id               | text primary key      | the job's id (the deployment id for a deploy)                  |
 * | app, target      | text                  | what it acts on (the worker takes the app+target lock as well) |
 * | kind             | text                  | deploy, rollback, restart, ...                                 |
 * | payload          | text (JSON)           | the request, secrets excluded (text on both stores: same code) |
 * | status           | text                  | queued, running, succeeded, failed                             |
 * | lease_owner      | text null             | the worker holding it while running                            |
 * | lease_expires_at | bigint null (epoch ms)| past it, another worker may take the job over                  |
 * | attempts         | integer               | claims so far; > 1 means a resumption (resume the stored plan) |
 * | created_at       | bigint (epoch ms)     | claim order                                                    |
 * | updated_at       | bigint (epoch ms)     |                                                                |
 *
 * Times are epoch milliseconds from the replicas' clocks (they are assumed in sync well within a lease).
 * Another schema can be used by naming its table and columns (JobTableSpec).
 */
export type JobField = 'id' | 'app' | 'target' | 'kind' | 'payload' | 'status' | 'leaseOwner' | 'leaseExpiresAt' | 'attempts' | 'createdAt' | 'updatedAt';

export interface JobTableSpec {
  table: string;
  columns: Record<JobField, string>;
}

export const DEFAULT_JOB_TABLE: JobTableSpec = {
  table: 'jobs',
  columns: {
    id: 'id',
    app: 'app',
    target: 'target',
    kind: 'kind',
    payload: 'payload',
    status: 'status',
    leaseOwner: 'lease_owner',
    leaseExpiresAt: 'lease_expires_at',
    attempts: 'attempts',
    createdAt: 'created_at',
    updatedAt: 'updated_at',
  },
};

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

export interface Job {
  id: string;
  app: string;
  target: string;
  kind: string;
  payload: unknown;
  status: JobStatus;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

export type StoreDialect = 'postgres' | 'sqlite';

/** Which SQL the store speaks, from the kysely dialect it was opened with. */
export function dialectOf(db: Kysely<any>): StoreDialect {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return 'postgres';
  if (adapter instanceof SqliteAdapter) return 'sqlite';
  throw new Error(`jobs-lease: unsupported kysely dialect (${adapter.constructor.name}); PostgreSQL or SQLite`);
}

/** Names come from code, never from a request: checked anyway since they are spliced into SQL. */
export function checkSpec(spec: JobTableSpec): JobTableSpec {
  for (const name of [spec.table, ...Object.values(spec.columns)]) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`jobs-lease: bad table or column name ${JSON.stringify(name)}`);
  }
  return spec;
}

/** The table and its claim index (queued jobs in creation order), if missing. The same DDL on both stores. */
export async function createJobsTable(db: Kysely<any>, spec: JobTableSpec = DEFAULT_JOB_TABLE): Promise<void> {
  const { table, columns: c } = checkSpec(spec);
  const big = dialectOf(db) === 'postgres' ? 'bigint' : 'integer';
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn(c.id, 'text', (col) => col.primaryKey())
    .addColumn(c.app, 'text', (col) => col.notNull())
    .addColumn(c.target, 'text', (col) => col.notNull())
    .addColumn(c.kind, 'text', (col) => col.notNull())
    .addColumn(c.payload, 'text', (col) => col.notNull().defaultTo('{}'))
    .addColumn(c.status, 'text', (col) => col.notNull().defaultTo('queued').check(sql`${sql.ref(c.status)} in ('queued', 'running', 'succeeded', 'failed')`))
    .addColumn(c.leaseOwner, 'text')
    .addColumn(c.leaseExpiresAt, big)
    .addColumn(c.attempts, 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn(c.createdAt, big, (col) => col.notNull())
    .addColumn(c.updatedAt, big, (col) => col.notNull())
    .execute();
  await db.schema.createIndex(`${table}_claim_idx`).ifNotExists().on(table).columns([c.status, c.createdAt]).execute();
}

/** A row as the driver returns it -> Job (PostgreSQL's bigint arrives as a string). */
export function rowToJob(row: Record<string, unknown>, spec: JobTableSpec): Job {
  const c = spec.columns;
  const num = (v: unknown): number => Number(v);
  const raw = row[c.payload];
  let payload: unknown = raw;
  if (typeof raw === 'string') {
    try {
      payload = JSON.parse(raw);
    } catch {
      payload = raw;
    }
  }
  return {
    id: String(row[c.id]),
    app: String(row[c.app]),
    target: String(row[c.target]),
    kind: String(row[c.kind]),
    payload,
    status: row[c.status] as JobStatus,
    leaseOwner: (row[c.leaseOwner] as string | null) ?? null,
    leaseExpiresAt: row[c.leaseExpiresAt] == null ? null : num(row[c.leaseExpiresAt]),
    attempts: num(row[c.attempts]),
    createdAt: num(row[c.createdAt]),
    updatedAt: num(row[c.updatedAt]),
  };
}
