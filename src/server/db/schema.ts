/**
 * The server's own tables (the engine keeps its state in its own store). Times are
 * ISO-8601 text (sorts and compares the same on SQLite and PostgreSQL); JSON is text.
 */
export interface ProjectsTable {
  id: string;
  name: string;
  max_apps: number;
  max_concurrent_deploys: number;
  created_at: string;
}

export interface AppsTable {
  /** The manifest's `app` name: unique across the server (the engine keys its state by it). */
  name: string;
  project_id: string;
  /** Absolute path of the manifest read at each operation, or null when registered from content. */
  manifest_path: string | null;
  /** The manifest text when registered from content. */
  manifest_text: string | null;
  /** The app's source directory (build context) when registered from content. */
  source_dir: string | null;
  created_at: string;
}

export type Role = 'viewer' | 'deployer' | 'admin';

export interface ApiKeysTable {
  id: string;
  /** null: a server-wide admin (the bootstrap key), which sees every project. */
  project_id: string | null;
  role: Role;
  name: string;
  /** scrypt$N$r$p$salt$hash (hex): the secret part is never stored. */
  hash: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'rolled_back' | 'cancelled';
export type JobKind = 'deploy' | 'rollback' | 'start' | 'stop' | 'restart';

export interface JobsTable {
  /** The deployment id the API answers with (202). */
  id: string;
  project_id: string;
  app: string;
  target: string;
  kind: JobKind;
  /** JSON: what the job was asked (force, release, env_vars, platform_config, deployment_type, adapter). */
  params: string;
  state: JobState;
  /** The engine's deployment id, once the engine has recorded one. */
  engine_deployment_id: string | null;
  /** JSON: the engine's DeployResult (or the reconciled outcome). */
  result: string | null;
  error: string | null;
  worker_id: string | null;
  lease_until: string | null;
  attempts: number;
  requested_by: string;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  external_id: string | null;
  access_url: string | null;
  registry_image: string | null;
}

export interface JobEventsTable {
  job_id: string;
  /** 1, 2, ... per job: the SSE event id (Last-Event-ID resumes after it). */
  seq: number;
  at: string;
  level: string;
  step: string | null;
  message: string;
  data: string | null;
}

export interface AuditTable {
  id: string;
  at: string;
  key_id: string | null;
  project_id: string | null;
  method: string;
  route: string;
  /** The concrete path asked for (ids, app names). */
  path: string;
  status: number;
  ip: string;
}

export interface HookDeliveriesTable {
  /** `<app>:<delivery id>`: a delivery id seen once is a replay the second time. */
  id: string;
  app: string;
  received_at: string;
  status: number;
}

export interface GitHooksTable {
  app: string;
  /** JSON: branch -> the target names a push to it deploys. */
  branches: string;
  /** The registered repository (fetched instead of the url a payload names), or null. */
  repo_url: string | null;
  updated_at: string;
}

export interface GitSourcesTable {
  app: string;
  repo_url: string;
  branch: string;
  /** The app's directory inside the repository ('.' for its root). */
  path: string;
  /** The commit the app is registered at now (its manifest and source). */
  commit_sha: string;
  /** Poll the branch this often and deploy each new head; null: no polling. */
  watch_interval_ms: number | null;
  /** JSON: the targets a new head deploys to; null: the manifest's first target. */
  watch_targets: string | null;
  updated_at: string;
}

export interface ServerDatabase {
  projects: ProjectsTable;
  apps: AppsTable;
  api_keys: ApiKeysTable;
  jobs: JobsTable;
  job_events: JobEventsTable;
  audit: AuditTable;
  hook_deliveries: HookDeliveriesTable;
  git_hooks: GitHooksTable;
  git_sources: GitSourcesTable;
}
