import type Database from 'better-sqlite3';
import type {
  AuditRecord,
  DeploymentPatch,
  DeploymentRecord,
  EventRecord,
  LockClaim,
  LockRecord,
  NewDeployment,
  NewEvent,
  NewRelease,
  NewStep,
  ReleaseRecord,
  StepRecord,
  TargetPatch,
  TargetRecord,
} from './types.js';

/**
 * The engine's state store: apps, targets, releases, deployments with their steps,
 * events, audit and locks. Synchronous on purpose (the engine calls it ~90 places);
 * two backends: SQLite in the state dir (sqlite-store.ts) and PostgreSQL shared by
 * server replicas (pg/pg-store.ts, its queries run in a worker thread).
 */
export interface Store {
  /**
   * The SQLite file a restore stages the backup's state into (`restoreState` takes it in):
   * the state file itself for SQLite, a scratch file in the state dir for PostgreSQL.
   */
  readonly file: string;
  /** The schema version of the SQLite state file a backup holds (stateSchemaVersion in its manifest). */
  readonly schemaVersion: number;
  close(): void;

  // ---- backup and restore ------------------------------------------------
  /** A SQLite database holding (at least) the app's state, for a backup's online copy; `release` when done. */
  stateSnapshot(app: string): { db: Database.Database; release(): void };
  /**
   * `swap` puts a backup's state file at `file`; afterwards the store holds the backup's state of `app`.
   * SQLite: the whole file is swapped (handles closed around it). PostgreSQL: the app's rows are replaced in one transaction.
   */
  restoreState(app: string, swap: () => Promise<void>): Promise<void>;
  /** When the newest deployment was recorded (restore refuses to go back over newer state). */
  newestDeploymentAt(app: string): string | undefined;

  // ---- apps and targets --------------------------------------------------
  ensureTarget(app: string, target: string, type: string): TargetRecord;
  getTarget(app: string, target: string): TargetRecord | undefined;
  updateTarget(app: string, target: string, patch: TargetPatch): void;
  /** `gantry destroy`: every row of app+target (the app too when no target is left); the audit log keeps what happened. */
  forgetTarget(app: string, target: string): void;

  // ---- releases ----------------------------------------------------------
  /** Record a release; its version is the next of its app+target (counting deleted ones: a version is never reused). */
  insertRelease(r: NewRelease): ReleaseRecord;
  getRelease(app: string, target: string, id: string): ReleaseRecord | undefined;
  listReleases(app: string, target: string, opts?: { includeDeleted?: boolean }): ReleaseRecord[];
  setReleaseStatus(app: string, target: string, id: string, status: ReleaseRecord['status'], good?: boolean): void;
  markReleaseDeleted(app: string, target: string, id: string): void;

  // ---- deployments and steps ---------------------------------------------
  insertDeployment(d: NewDeployment): DeploymentRecord;
  getDeployment(id: string): DeploymentRecord | undefined;
  listDeployments(app: string, target: string, limit?: number): DeploymentRecord[];
  /** Deployments still marked running: after a crash these are the interrupted ones. */
  unfinishedDeployments(app: string, target: string): DeploymentRecord[];
  updateDeployment(id: string, patch: DeploymentPatch): void;
  insertSteps(deploymentId: string, steps: NewStep[]): void;
  appendSteps(deploymentId: string, steps: NewStep[]): void;
  setStepStatus(deploymentId: string, idx: number, status: StepRecord['status'], error?: string): void;
  listSteps(deploymentId: string): StepRecord[];

  // ---- events and audit --------------------------------------------------
  insertEvent(e: NewEvent): EventRecord;
  listEvents(filter: { app: string; target: string; deploymentId?: string; limit?: number }): EventRecord[];
  audit(actor: string, action: string, app?: string, target?: string, detail?: unknown): void;
  listAudit(limit?: number): AuditRecord[];

  // ---- locks ---------------------------------------------------------------
  /**
   * Take the app+target lock atomically. A lock `isAlive` says is gone is stale and taken over.
   * Returns `{}` on success (with `stale` when one was taken over), or `{ held }`: the live holder.
   */
  tryLock(app: string, target: string, me: LockClaim, isAlive: (l: LockRecord) => boolean): { held?: LockRecord; stale?: LockRecord };
  /** The holder says it is still there (its lease); false when the lock is no longer its own. */
  renewLock(app: string, target: string, pid: number, host: string): boolean;
  /** Release the lock if `pid` (on `host`, when given) still holds it. */
  unlock(app: string, target: string, pid: number, host?: string): void;
  getLock(app: string, target: string): LockRecord | undefined;
}
