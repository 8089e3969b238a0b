/**
 * The store's operations as PostgreSQL queries, run in the worker thread (worker.ts).
 * Each takes the connection and plain arguments and returns plain rows (the main thread maps them);
 * an operation of several statements is one transaction.
 */
import type pg from 'pg';
import { inTransaction } from './migrate.js';
import { APP_ROWS_WHERE, APP_TABLES, type AppRows, type AppTable } from './schema.js';

type Row = Record<string, unknown>;
type C = pg.ClientBase;

const one = async (c: C, sql: string, params: unknown[]): Promise<Row | undefined> => (await c.query(sql, params)).rows[0] as Row | undefined;
const all = async (c: C, sql: string, params: unknown[]): Promise<Row[]> => (await c.query(sql, params)).rows as Row[];

/** Serialises the writers of one app+target within a transaction (release numbering). */
const lockAppTarget = (c: C, app: string, target: string) => c.query('SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))', [app, target]);

export const queries = {
  newestDeploymentAt: async (c: C, app: string) => (await one(c, 'SELECT MAX(created_at) AS t FROM deployments WHERE app = $1', [app]))?.t ?? null,

  ensureTarget: async (c: C, app: string, target: string, type: string, ts: string) => {
    await c.query('INSERT INTO apps(name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [app, ts]);
    await c.query('INSERT INTO targets(app, name, type, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [app, target, type, ts]);
    return one(c, 'SELECT * FROM targets WHERE app = $1 AND name = $2', [app, target]);
  },
  getTarget: (c: C, app: string, target: string) => one(c, 'SELECT * FROM targets WHERE app = $1 AND name = $2', [app, target]),
  updateTarget: async (c: C, app: string, target: string, v: unknown[]) => {
    await c.query('UPDATE targets SET current_release = $1, desired_state = $2, instances = $3, scaled_from_manifest = $4, held_nodes = $5, settings = $6, updated_at = $7 WHERE app = $8 AND name = $9', [...v, app, target]);
  },
  forgetTarget: (c: C, app: string, target: string) =>
    inTransaction(c, async () => {
      await c.query('DELETE FROM steps WHERE deployment_id IN (SELECT id FROM deployments WHERE app = $1 AND target = $2)', [app, target]);
      for (const table of ['deployments', 'releases', 'events']) await c.query(`DELETE FROM ${table} WHERE app = $1 AND target = $2`, [app, target]);
      await c.query('DELETE FROM targets WHERE app = $1 AND name = $2', [app, target]);
      await c.query('DELETE FROM apps WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM targets WHERE app = $1)', [app]);
    }),

  insertRelease: (c: C, v: unknown[]) =>
    inTransaction(c, async () => {
      const [id, app, target] = v as [string, string, string];
      await lockAppTarget(c, app, target);
      await c.query(
        `INSERT INTO releases(id, app, target, created_at, content_hash, artifact, manifest, status, git, build_key, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, (SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app = $2 AND target = $3))`,
        v,
      );
      return one(c, 'SELECT * FROM releases WHERE app = $1 AND target = $2 AND id = $3', [app, target, id]);
    }),
  getRelease: (c: C, app: string, target: string, id: string) => one(c, 'SELECT * FROM releases WHERE app = $1 AND target = $2 AND id = $3', [app, target, id]),
  listReleases: (c: C, app: string, target: string, includeDeleted: boolean) => all(c, `SELECT * FROM releases WHERE app = $1 AND target = $2 ${includeDeleted ? '' : 'AND deleted = 0'} ORDER BY created_at DESC, id DESC`, [app, target]),
  setReleaseStatus: async (c: C, app: string, target: string, id: string, status: string, goodAt: string | null) => {
    if (goodAt) await c.query('UPDATE releases SET status = $1, last_good_at = $2 WHERE app = $3 AND target = $4 AND id = $5', [status, goodAt, app, target, id]);
    else await c.query('UPDATE releases SET status = $1 WHERE app = $2 AND target = $3 AND id = $4', [status, app, target, id]);
  },
  markReleaseDeleted: async (c: C, app: string, target: string, id: string) => {
    await c.query('UPDATE releases SET deleted = 1 WHERE app = $1 AND target = $2 AND id = $3', [app, target, id]);
  },

  insertDeployment: async (c: C, v: unknown[]) => {
    return one(
      c,
      `INSERT INTO deployments(id, app, target, target_type, kind, release, previous_release, status, actor, pid, platform_config, created_at, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING *`,
      v,
    );
  },
  getDeployment: (c: C, id: string) => one(c, 'SELECT * FROM deployments WHERE id = $1', [id]),
  listDeployments: (c: C, app: string, target: string, limit: number) => all(c, 'SELECT * FROM deployments WHERE app = $1 AND target = $2 ORDER BY created_at DESC, seq DESC LIMIT $3', [app, target, limit]),
  unfinishedDeployments: (c: C, app: string, target: string) => all(c, "SELECT * FROM deployments WHERE app = $1 AND target = $2 AND status IN ('pending','running') ORDER BY created_at, seq", [app, target]),
  /** `cols` are `name = ?` from rows.ts deploymentPatch (fixed column names, never input). */
  updateDeployment: async (c: C, id: string, cols: string[], vals: unknown[]) => {
    const set = cols.map((col, i) => col.replace('?', `$${i + 1}`)).join(', ');
    await c.query(`UPDATE deployments SET ${set} WHERE id = $${cols.length + 1}`, [...vals, id]);
  },
  /** Appends after the last step (from 0 when `fromStart` and there is none); one transaction. */
  insertSteps: (c: C, deploymentId: string, steps: Array<[kind: string, params: string]>, append: boolean) =>
    inTransaction(c, async () => {
      let base = 0;
      if (append) base = Number((await one(c, 'SELECT COALESCE(MAX(idx), -1) AS m FROM steps WHERE deployment_id = $1', [deploymentId]))!.m) + 1;
      for (const [i, [kind, params]] of steps.entries()) {
        await c.query("INSERT INTO steps(deployment_id, idx, kind, params, status) VALUES ($1, $2, $3, $4, 'pending')", [deploymentId, base + i, kind, params]);
      }
    }),
  setStepStatus: async (c: C, deploymentId: string, idx: number, status: string, ts: string, error: string | null) => {
    // A step run again (a resumed plan) keeps its first start: a resumed watch measures its window from it.
    const set = status === 'running' ? 'started_at = COALESCE(started_at, $2)' : 'finished_at = $2';
    await c.query(`UPDATE steps SET status = $1, ${set}, error = $3 WHERE deployment_id = $4 AND idx = $5`, [status, ts, error, deploymentId, idx]);
  },
  listSteps: (c: C, deploymentId: string) => all(c, 'SELECT * FROM steps WHERE deployment_id = $1 ORDER BY idx', [deploymentId]),

  insertEvent: async (c: C, v: unknown[]) => Number((await one(c, 'INSERT INTO events(deployment_id, app, target, at, level, step, message, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING seq', v))!.seq),
  listEvents: (c: C, app: string, target: string, deploymentId: string | null, limit: number) =>
    deploymentId
      ? all(c, 'SELECT * FROM events WHERE deployment_id = $1 ORDER BY seq', [deploymentId])
      : all(c, 'SELECT * FROM (SELECT * FROM events WHERE app = $1 AND target = $2 ORDER BY seq DESC LIMIT $3) e ORDER BY seq', [app, target, limit]),
  audit: async (c: C, v: unknown[]) => {
    await c.query('INSERT INTO audit_log(at, actor, action, app, target, detail) VALUES ($1, $2, $3, $4, $5, $6)', v);
  },
  listAudit: (c: C, limit: number) => all(c, 'SELECT * FROM audit_log ORDER BY seq DESC LIMIT $1', [limit]),

  getLock: (c: C, app: string, target: string) => one(c, 'SELECT * FROM locks WHERE app = $1 AND target = $2', [app, target]),
  /**
   * Takes the lock if it is free, or still held by `stale` (the holder the caller found gone): compare and
   * swap in one transaction. Returns undefined when taken, else the row holding it now.
   */
  takeLock: (c: C, app: string, target: string, me: { holder: string; pid: number; host: string; deploymentId?: string }, stale: Row | null, ts: string) =>
    inTransaction(c, async () => {
      if (stale) await c.query('DELETE FROM locks WHERE app = $1 AND target = $2 AND pid = $3 AND host = $4 AND acquired_at = $5', [app, target, stale.pid, stale.host, stale.acquired_at]);
      const taken = await c.query('INSERT INTO locks(app, target, holder, pid, host, deployment_id, acquired_at, renewed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING', [app, target, me.holder, me.pid, me.host, me.deploymentId ?? null, ts]);
      return taken.rowCount === 1 ? undefined : one(c, 'SELECT * FROM locks WHERE app = $1 AND target = $2', [app, target]);
    }),
  renewLock: async (c: C, app: string, target: string, pid: number, host: string, ts: string) => (await c.query('UPDATE locks SET renewed_at = $1 WHERE app = $2 AND target = $3 AND pid = $4 AND host = $5', [ts, app, target, pid, host])).rowCount === 1,
  unlock: async (c: C, app: string, target: string, pid: number, host: string | null) => {
    if (host === null) await c.query('DELETE FROM locks WHERE app = $1 AND target = $2 AND pid = $3', [app, target, pid]);
    else await c.query('DELETE FROM locks WHERE app = $1 AND target = $2 AND pid = $3 AND host = $4', [app, target, pid, host]);
  },

  /** The app's rows, for a backup's state file. */
  exportApp: async (c: C, app: string): Promise<AppRows> => {
    const out = {} as AppRows;
    for (const table of Object.keys(APP_TABLES) as AppTable[]) out[table] = await all(c, `SELECT ${APP_TABLES[table].join(', ')} FROM ${table} WHERE ${APP_ROWS_WHERE[table]}`, [app]);
    return out;
  },
  /** Replaces the app's rows with a backup's, in one transaction (the audit log and locks are kept). */
  importApp: (c: C, app: string, rows: AppRows) =>
    inTransaction(c, async () => {
      await c.query('DELETE FROM steps WHERE deployment_id IN (SELECT id FROM deployments WHERE app = $1)', [app]);
      for (const table of ['deployments', 'releases', 'events', 'targets']) await c.query(`DELETE FROM ${table} WHERE app = $1`, [app]);
      await c.query('DELETE FROM apps WHERE name = $1', [app]);
      for (const table of Object.keys(APP_TABLES) as AppTable[]) {
        const cols = APP_TABLES[table];
        const sql = `INSERT INTO ${table}(${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')})`;
        for (const r of rows[table]) await c.query(sql, cols.map((col) => r[col] ?? null));
      }
    }),
};

export type Queries = typeof queries;
export type QueryName = keyof Queries;
