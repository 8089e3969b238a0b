/**
 * Schema migrations, written with kysely's schema builder only (no dialect-specific
 * SQL), so the same list runs on SQLite and PostgreSQL. Append; never edit one that shipped.
 */
import type { Kysely, Migration } from 'kysely';

export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('projects')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('max_apps', 'integer', (c) => c.notNull())
        .addColumn('max_concurrent_deploys', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('apps')
        .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull().references('projects.id'))
        .addColumn('manifest_path', 'text')
        .addColumn('manifest_text', 'text')
        .addColumn('source_dir', 'text')
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('apps_project').on('apps').column('project_id').execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)')
        .addColumn('role', 'varchar(16)', (c) => c.notNull())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('revoked_at', 'varchar(32)')
        .addColumn('last_used_at', 'varchar(32)')
        .execute();
      await db.schema
        .createTable('jobs')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('app', 'varchar(64)', (c) => c.notNull())
        .addColumn('target', 'varchar(64)', (c) => c.notNull())
        .addColumn('kind', 'varchar(16)', (c) => c.notNull())
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('engine_deployment_id', 'varchar(128)')
        .addColumn('result', 'text')
        .addColumn('error', 'text')
        .addColumn('worker_id', 'varchar(128)')
        .addColumn('lease_until', 'varchar(32)')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('requested_by', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('started_at', 'varchar(32)')
        .addColumn('finished_at', 'varchar(32)')
        .addColumn('external_id', 'varchar(255)')
        .addColumn('access_url', 'varchar(512)')
        .addColumn('registry_image', 'varchar(512)')
        .execute();
      await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'created_at']).execute();
      await db.schema.createIndex('jobs_app').on('jobs').columns(['app', 'created_at']).execute();
      await db.schema
        .createTable('job_events')
        .addColumn('job_id', 'varchar(64)', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('level', 'varchar(8)', (c) => c.notNull())
        .addColumn('step', 'varchar(64)')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('data', 'text')
        .addPrimaryKeyConstraint('job_events_pk', ['job_id', 'seq'])
        .execute();
      await db.schema
        .createTable('audit')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('at', 'varchar(32)', (c) => c.notNull())
        .addColumn('key_id', 'varchar(64)')
        .addColumn('project_id', 'varchar(64)')
        .addColumn('method', 'varchar(8)', (c) => c.notNull())
        .addColumn('route', 'varchar(200)', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('ip', 'varchar(64)', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_at').on('audit').column('at').execute();
      await db.schema
        .createTable('hook_deliveries')
        .addColumn('id', 'varchar(300)', (c) => c.primaryKey())
        .addColumn('app', 'varchar(64)', (c) => c.notNull())
        .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  '0002_git_hooks': {
    async up(db: Kysely<any>) {
      // An app's git-push hook: which branch deploys to which targets. Its secret is not here
      // (it is age-encrypted in <data>/hook-secrets, see src/server/hooks/config.ts).
      await db.schema
        .createTable('git_hooks')
        .addColumn('app', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('branches', 'text', (c) => c.notNull())
        .addColumn('repo_url', 'text')
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
  },
  '0003_git_sources': {
    async up(db: Kysely<any>) {
      // An app registered from a git repository: where it comes from, the commit registered now,
      // and whether the branch is polled (watch) for hosts that cannot receive webhooks.
      await db.schema
        .createTable('git_sources')
        .addColumn('app', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('repo_url', 'text', (c) => c.notNull())
        .addColumn('branch', 'varchar(255)', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('commit_sha', 'varchar(40)', (c) => c.notNull())
        .addColumn('watch_interval_ms', 'integer')
        .addColumn('watch_targets', 'text')
        .addColumn('updated_at', 'varchar(32)', (c) => c.notNull())
        .execute();
    },
  },
};
