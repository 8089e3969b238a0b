/**
 * Versioned schema migrations. Append only: never edit a migration that has shipped,
 * add a new one. `user_version` records how far a database has come.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the initial schema
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
    desired_state   TEXT NOT NULL DEFAULT 'running',   -- running | stopped
    instances   INTEGER NOT NULL DEFAULT 1,
    settings    TEXT NOT NULL DEFAULT '{}',            -- target-owned JSON (e.g. the proxy port it reserved)
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (app, name)
  );
  CREATE TABLE releases (
    id          TEXT NOT NULL,
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    artifact    TEXT NOT NULL,                         -- JSON: what the target built
    manifest    TEXT NOT NULL,                         -- JSON: the resolved manifest (secret values never)
    status      TEXT NOT NULL,                         -- built | active | superseded | failed
    last_good_at TEXT,                                 -- when it last served healthily
    deleted     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (app, target, id)
  );
  CREATE TABLE deployments (
    id          TEXT PRIMARY KEY,
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    kind        TEXT NOT NULL,                         -- deploy | rollback | start | stop | restart
    release     TEXT,
    previous_release TEXT,
    status      TEXT NOT NULL,                         -- pending | running | succeeded | failed | rolled_back | interrupted
    reason      TEXT,
    waiting     TEXT,                                  -- what a running deploy waits for right now
    control     TEXT,                                  -- a request to a running deploy: promote | abort
    external_id TEXT,
    access_url  TEXT,
    registry_image TEXT,
    platform_config TEXT NOT NULL DEFAULT '{}',        -- redacted
    plan        TEXT NOT NULL DEFAULT '[]',            -- JSON list of typed steps
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
    status      TEXT NOT NULL,                         -- pending | running | done | failed | skipped
    started_at  TEXT,
    finished_at TEXT,
    error       TEXT,
    PRIMARY KEY (deployment_id, idx)
  );
  CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    deployment_id TEXT,
    app         TEXT NOT NULL,
    target      TEXT NOT NULL,
    at          TEXT NOT NULL,
    level       TEXT NOT NULL,                         -- info | warn | error
    step        TEXT,
    message     TEXT NOT NULL,
    data        TEXT
  );
  CREATE INDEX events_deployment ON events(deployment_id, seq);
  CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
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
    holder      TEXT NOT NULL,                          -- human description: user@host pid N (command)
    pid         INTEGER NOT NULL,
    host        TEXT NOT NULL,
    deployment_id TEXT,
    acquired_at TEXT NOT NULL,
    PRIMARY KEY (app, target)
  );
  `,
  // 2: formation as desired state. When `gantry scale` last set `instances`, the
  // manifest's run.instances at that time; NULL when the count follows the manifest.
  // A deploy keeps the scaled count while the manifest's value is still this one.
  `
  ALTER TABLE targets ADD COLUMN scaled_from_manifest INTEGER;
  `,
  // 3: per-node desired state of many-node targets. The nodes stopped with
  // `gantry stop --host` (JSON array of names; NULL = none): convergence leaves
  // them stopped until `gantry start --host` (or a plain `start`) releases them.
  `
  ALTER TABLE targets ADD COLUMN held_nodes TEXT;
  `,
  // 4: releases people can name. `version` numbers an app+target's releases 1, 2 ...
  // (shown as v1, v2); `git` is the commit, branch, dirty flag and author the release
  // was made from (JSON; NULL outside a git work tree); `build_key` says what its artifact
  // was built from (code and build inputs, never env or secrets), so a release that
  // changes only env or secret values reuses the artifact of one with the same key.
  `
  ALTER TABLE releases ADD COLUMN version INTEGER;
  ALTER TABLE releases ADD COLUMN git TEXT;
  ALTER TABLE releases ADD COLUMN build_key TEXT;
  UPDATE releases SET version = (
    SELECT COUNT(*) FROM releases r2
    WHERE r2.app = releases.app AND r2.target = releases.target
      AND (r2.created_at < releases.created_at OR (r2.created_at = releases.created_at AND r2.id <= releases.id))
  );
  `,
  // 5: lock leases. The holder renews `renewed_at` while it works (src/engine/lock.ts);
  // a lock held from another host (a shared store) is stale once it is not renewed within the lease.
  `
  ALTER TABLE locks ADD COLUMN renewed_at TEXT;
  `,
];
