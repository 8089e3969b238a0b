/**
 * The engine's state schema on PostgreSQL: the same logical tables and columns as the
 * SQLite state file (src/store/migrations.ts), in a schema of their own so they never
 * meet the server's tables in the same database. Versioned and append only: never edit
 * a migration that has shipped, add one. `migrations` records what was applied.
 * Timestamps stay ISO text (they order as in SQLite); `seq` columns are identities.
 */
export const PG_SCHEMA = 'gantry_engine';

export const PG_MIGRATIONS: readonly string[] = [
  // 1: the state as SQLite has it after its migration 5
  `
  CREATE TABLE apps (
    name        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
  );
  CREATE TABLE targets (
    app         TEXT NOT NULL REFERENCES apps(name),
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    current_release TEXT,
    desired_state   TEXT NOT NULL DEFAULT 'running',
    instances   INTEGER NOT NULL DEFAULT 1,
    settings    TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL,
    scaled_from_manifest INTEGER,
    held_nodes  TEXT,
    PRIMARY KEY (app, name)
  );
  CREATE TABLE releases (
    id          TEXT NOT NULL,
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    artifact    TEXT NOT NULL,
    manifest    TEXT NOT NULL,
    status      TEXT NOT NULL,
    last_good_at TEXT,
    deleted     INTEGER NOT NULL DEFAULT 0,
    version     INTEGER,
    git         TEXT,
    build_key   TEXT,
    PRIMARY KEY (app, target, id)
  );
  CREATE TABLE deployments (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,   -- insertion order (SQLite's rowid)
    id          TEXT PRIMARY KEY,
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    kind        TEXT NOT NULL,
    release     TEXT,
    previous_release TEXT,
    status      TEXT NOT NULL,
    reason      TEXT,
    waiting     TEXT,
    control     TEXT,
    external_id TEXT,
    access_url  TEXT,
    registry_image TEXT,
    platform_config TEXT NOT NULL DEFAULT '{}',
    plan        TEXT NOT NULL DEFAULT '[]',
    actor       TEXT NOT NULL,
    pid         INTEGER,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
  );
  CREATE INDEX deployments_app ON deployments(app, target, created_at);
  CREATE TABLE steps (
    deployment_id TEXT NOT NULL REFERENCES deployments(id),
    idx         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    params      TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    error       TEXT,
    PRIMARY KEY (deployment_id, idx)
  );
  CREATE TABLE events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    deployment_id TEXT,
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    at          TEXT NOT NULL,
    level       TEXT NOT NULL,
    step        TEXT,
    message     TEXT NOT NULL,
    data        TEXT
  );
  CREATE INDEX events_deployment ON events(deployment_id, seq);
  CREATE INDEX events_app ON events(app, target, seq);
  CREATE TABLE audit_log (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    app         TEXT,
    target      TEXT,
    detail      TEXT
  );
  CREATE TABLE locks (
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    holder      TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    deployment_id TEXT,
    acquired_at TEXT NOT NULL,
    renewed_at  TEXT,
    PRIMARY KEY (app, target)
  );
  `,
];

/**
 * An app's rows as a backup carries them (the columns both backends have), in the order they
 * are inserted on restore (parents first). `seq` is left out: PostgreSQL numbers restored rows anew, in order.
 */
export const APP_TABLES = {
  apps: ['name', 'created_at'],
  targets: ['app', 'name', 'type', 'current_release', 'desired_state', 'instances', 'settings', 'updated_at', 'scaled_from_manifest', 'held_nodes'],
  releases: ['id', 'app', 'target', 'created_at', 'content_hash', 'artifact', 'manifest', 'status', 'last_good_at', 'deleted', 'version', 'git', 'build_key'],
  deployments: ['id', 'app', 'target', 'target_type', 'kind', 'release', 'previous_release', 'status', 'reason', 'waiting', 'control', 'external_id', 'access_url', 'registry_image', 'platform_config', 'plan', 'actor', 'pid', 'created_at', 'started_at', 'finished_at'],
  steps: ['deployment_id', 'idx', 'kind', 'params', 'status', 'started_at', 'finished_at', 'error'],
  events: ['deployment_id', 'app', 'target', 'at', 'level', 'step', 'message', 'data'],
} as const satisfies Record<string, readonly string[]>;

export type AppTable = keyof typeof APP_TABLES;
export type AppRows = Record<AppTable, Array<Record<string, unknown>>>;

/** How each table's rows of one app are selected and ordered (`$1` / `?` is the app). */
export const APP_ROWS_WHERE: Record<AppTable, string> = {
  apps: 'name = $1',
  targets: 'app = $1',
  releases: 'app = $1 ORDER BY created_at, id',
  deployments: 'app = $1 ORDER BY created_at',
  steps: 'deployment_id IN (SELECT id FROM deployments WHERE app = $1) ORDER BY deployment_id, idx',
  events: 'app = $1 ORDER BY seq',
};
