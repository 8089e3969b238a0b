/** The engine's public shapes (results the faces print) and the internal handle of an opened target. */
import type { LoadedManifest, Manifest } from '../manifest/index.js';
import type { DeploymentRecord, Store, TargetRecord } from '../store/index.js';
import type { AnalysisVerdict } from './analysis.js';
import type { TargetRegistry } from './registry.js';
import type { Step } from './plan.js';
import type { PlatformEvent, PlatformWorkload, ReleaseRef, Target, TargetContext, TargetRuntime } from './target.js';

export type EngineEventLevel = 'info' | 'warn' | 'error';
export interface EngineEvent {
  at: string;
  level: EngineEventLevel;
  app: string;
  target: string;
  deploymentId?: string;
  step?: string;
  message: string;
  /**
   * Also, for live progress on a terminal: `{ live: { label, totalMs? } }` starts a wait that lasts up to
   * totalMs; `{ transient: true }` is a passing line (build output) shown live and never stored.
   */
  data?: unknown;
}

/** Event data of a wait a terminal may show as a live line with its time ("waiting for /health, 12 s of 30 s"). */
export interface LiveWait {
  live: { label: string; totalMs?: number };
}

/** Where secret values come from (the age store in the CLI); the engine never persists a value. */
export interface SecretProvider {
  resolve(app: string, env: string | undefined, names: string[]): Promise<{ values: Record<string, string>; versions: Record<string, string>; missing: string[] }>;
  atVersions(app: string, env: string | undefined, versions: Record<string, string>): Promise<Record<string, string>>;
  /** When a version of a secret was set, if the store still keeps it (for what a rollback reverts). */
  setAtOf?(app: string, env: string | undefined, name: string, version: string): Promise<string | undefined>;
  setCommand(name: string, env: string | undefined): string;
  /** The directory of the app's encrypted secrets, archived and restored as a whole by backups that include secrets. */
  appDir(app: string): string;
}

/** What a backup holds, as the engine reads it (the backup module's manifest has more). */
export interface BackupInfo {
  createdAt: string;
  app: string;
  target: string;
  release?: string;
  includesSecrets: boolean;
  entries: Array<{ path: string; size: number; sha256: string }>;
}

/** Backups of the state, an app's data and (when asked) its secrets: the backup module, handed in by the CLI. */
export interface BackupService {
  /** A file name for a new backup of app+target (sorts by time). */
  fileName(app: string, target: string): Promise<string>;
  create(opts: { outFile: string; db: ReturnType<Store['stateSnapshot']>['db']; app: string; target: string; release?: string; stateSchemaVersion: number; dataDirs: Array<{ name: string; dir: string; skip?: (relPath: string) => boolean }>; secretsDir?: string }): Promise<{ file: string; bytes: number; manifest: BackupInfo }>;
  /** The backups in dir, newest first; one that cannot be read has a problem instead of a manifest. */
  list(dir: string): Promise<Array<{ file: string; bytes: number; manifest?: BackupInfo; problem?: string }>>;
  /** Keep the newest `keep` backups of app+target in dir; returns the files removed. */
  prune(dir: string, keep: number, only: { app?: string; target?: string }): Promise<string[]>;
  /** The backup's manifest, without checking the contents. */
  inspect(file: string): Promise<BackupInfo>;
  /**
   * Extracts a backup beside the places it restores, checking every entry as it is written,
   * without touching what is in place (the app may run meanwhile); throws on a damaged or
   * foreign file, leaving nothing behind.
   */
  stage(opts: { file: string; stateDbFile: string; dataDirs: Array<{ name: string; dir: string }>; secretsDir?: string; currentState?: { app: string; newestDeploymentAt?: string }; force?: boolean }): Promise<StagedBackupRestore>;
}

/** A restore ready to swap in (BackupService.stage). */
export interface StagedBackupRestore {
  manifest: BackupInfo;
  /** Swaps every staged copy into place, all or nothing. */
  commit(): Promise<void>;
  /** Deletes the staged copies. */
  discard(): Promise<void>;
  /** Resolves when the copies replaced by commit are deleted. */
  cleanup(): Promise<void>;
}

export interface EngineOptions {
  store: Store;
  registry: TargetRegistry;
  stateDir: string;
  actor: string;
  secrets?: SecretProvider;
  backups?: BackupService;
  onEvent?: (e: EngineEvent) => void;
}

/** What an autoscaler loop carries from one tick to the next. */
export interface AutoscaleState {
  lastCpu?: { at: number; seconds: Record<string, number> };
  lastChangeAt: number;
}

/** A release as the engine starts instances of it: plain env from its manifest, secret values at the versions it was made with. */
export type RunnableRelease = ReleaseRef & { env: Record<string, string>; secretEnv: Record<string, string> };

/** What a release records about its secrets: names and versions, never values. */
export interface ReleaseSecrets {
  env?: string;
  versions: Record<string, string>;
}

export type DeployStatus = 'succeeded' | 'failed' | 'rolled_back';

export interface DeployResult {
  id: string;
  app: string;
  target: string;
  kind: DeploymentRecord['kind'];
  release?: string;
  /** The release's version (v1, v2 ...). */
  version?: string;
  /** A rollback: what it takes back (code, env keys, secret versions). */
  reverts?: RollbackChanges;
  previous_release?: string;
  status: DeployStatus;
  url?: string;
  duration_ms: number;
  reason?: string;
  error?: { code: string; message: string; hint?: string };
  logs?: string[];
  /** Canary analysis of each step, with the figures it judged. */
  analysis?: AnalysisVerdict[];
  /** True when nothing changed since the current release, so nothing was done. */
  unchanged?: boolean;
  reconciled?: ReconcileReport[];
  /** Many-node targets: each node's outcome. */
  nodes?: NodeReport[];
}

/** How one node of a many-node target fared in a plan. */
export interface NodeReport {
  node: string;
  batch: number;
  status: 'succeeded' | 'failed' | 'rolled_back' | 'not_started' | 'timed_out';
  duration_ms?: number;
  error?: string;
  /** The failure's error code (HEALTH_FAILED, WATCH_FAILED, SSH_CONNECT_FAILED...). */
  code?: string;
  /** Bytes the release's staging sent to this node (targets that transfer releases). */
  bytes_sent?: number;
  /** Files of the release sent to this node, of all its files. */
  files_sent?: number;
  files_total?: number;
}

export interface ReconcileReport {
  deployment: string;
  interrupted_at?: string;
  outcome: 'completed' | 'rolled_back' | 'stopped';
  release?: string;
  /** Set when the reconcile resumed the stored plan instead of going forward or back imperatively; `outcome` is where the resumed plan ended. */
  resumed?: { step: string; remaining_ms?: number; result: 'passed' | 'failed'; reason?: string };
}

export interface PlanResult {
  app: string;
  target: string;
  release: string;
  new_release: boolean;
  strategy: string;
  instances: number;
  /** Same code, manifest, env and secret versions as the current release: a deploy would change nothing. */
  nothing_to_do: boolean;
  start: string[];
  stop: string[];
  missing_secrets: string[];
  persist: string[];
  url?: string;
  /** What the build would use (e.g. the Dockerfile, generated or not). */
  build?: Record<string, unknown>;
  steps: Step[];
  /** The commit the release would record (a git work tree only). */
  git?: { commit: string; branch?: string; dirty: boolean; author?: string };
  /** Set when the work tree has uncommitted changes: what that means for this release. */
  dirty?: string;
  /** Only env or secrets change: the release would reuse this release's artifact (e.g. "v3"), no build. */
  reuses_artifact_of?: string;
}

export interface InstanceStatus {
  id: string;
  release: string;
  healthy: boolean;
  routed: boolean;
  url: string;
  state: string;
  pid?: number;
  restarts: number;
  /** When it last started; `uptime_s` counts from then while it runs. */
  started_at?: string;
  uptime_s?: number;
  /** CPU over a short window (100 = one core) and resident memory, where the target measures them. */
  cpu_percent?: number;
  rss_bytes?: number;
  detail?: string;
  /** On a many-node target: the node it runs on. */
  node?: string;
}

export interface NodeStatus {
  node: string;
  state: 'running' | 'scaled_to_zero' | 'stopped' | 'degraded' | 'unreachable';
  held: boolean;
  /** Why the node could not be reached (state `unreachable`). */
  error?: string;
  /** Instances there, and how many of them serve the current release healthy. */
  instances: number;
  serving: number;
}

export interface TargetStatus {
  target: string;
  type: string;
  release?: string;
  /** `scaled_to_zero`: deployed and meant to run, with `gantry scale 0` in effect (no instance runs; the proxy stays up). */
  /** `deploying`: a deploy, rollback or restart is under way (`deploying` says which release, in which phase). */
  state: 'running' | 'scaled_to_zero' | 'stopped' | 'degraded' | 'not_deployed' | 'needs_secrets' | 'deploying';
  /** Declared secrets that are not set: the next deploy would stop on them. */
  missing_secrets?: string[];
  /** `by`: who set the count, `gantry scale` (held across deploys until run.instances changes) or a deploy of the manifest. */
  desired: { state: string; instances: number; by: 'scale' | 'manifest' };
  instances: InstanceStatus[];
  /** Many-node targets: each node's state (those named with `--host`, else all). `held`: stopped with `gantry stop --host`, left stopped by later commands. */
  nodes?: NodeStatus[];
  url?: string;
  /** The operation holding the lock: its kind, the release it brings (and from which), its phase and step. */
  deploying?: { id: string; holder: string; since: string; waiting?: string; kind?: string; release?: string; previous_release?: string; phase: string; step?: number; steps?: number };
  /** Maintenance mode (`gantry maintenance on`): requests get a 503 page while instances keep running. */
  maintenance?: { on: true; message?: string; retry_after_s: number; since: string };
  last_deployment?: { id: string; kind: string; status: string; release?: string; reason?: string; finished_at?: string };
  reconciled?: ReconcileReport[];
  traffic?: unknown;
  /** Targets whose platform runs the instances: its workloads (per release and track) with their pods, and its recent events. */
  platform?: { workloads: PlatformWorkload[]; events: PlatformEvent[]; error?: string };
  /** Autoscale bounds and the most recent scaling events with their reasons. */
  autoscale?: { min: number; max: number; cpu_percent?: number; concurrency?: number; events: Array<{ at: string; from: number; to: number; reason: string }> };
}

export interface ReleaseInfo {
  release: string;
  /** v1, v2 ... per app+target. */
  version: string;
  created_at: string;
  status: string;
  current: boolean;
  last_good_at?: string;
  commit?: string;
  branch?: string;
  dirty?: boolean;
  author?: string;
}

/** Everything the engine needs for one app+target, opened once per operation. */
export interface Opened {
  loaded: LoadedManifest;
  manifest: Manifest;
  app: string;
  name: string;
  target: Target<any>;
  ctx: TargetContext<any>;
  record: TargetRecord;
  runtime: TargetRuntime;
  /** Many-node targets: the nodes, opened on first use (see nodes.ts). */
  nodes?: Array<{ name: string; runtime: TargetRuntime }>;
  /** Many-node targets: the nodes named with `--host` (validated); absent: every node that is not held. */
  hosts?: string[];
}



/** What a rollback changes, said before it runs and in its result: code, env keys, secret versions. */
export interface RollbackChanges {
  code: { from?: ReleaseSide; to: ReleaseSide; same_code: boolean };
  /** Env keys whose value changes (values are not shown). */
  env: Array<{ name: string; change: 'added' | 'removed' | 'changed' }>;
  /** Secrets going back to another version (or kept at the current one with --keep-secrets). */
  secrets: Array<{ name: string; from?: string; from_set_at?: string; to?: string; to_set_at?: string; kept?: boolean }>;
}

export interface ReleaseSide {
  release: string;
  version: string;
  commit?: string;
  dirty?: boolean;
}
