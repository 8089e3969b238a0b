/**
 * The engine's state store on PostgreSQL, for server replicas that share one database
 * (`gantry server --database postgres://…`). The Store contract is synchronous, so each
 * call is handed to a worker thread (worker.ts, through synckit) and blocks until it answers:
 * one round trip to PostgreSQL per call, on a connection of this store's own.
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSyncFn } from 'synckit';
import { capText } from '../../core/bounded.js';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { Store } from '../contract.js';
import { MIGRATIONS } from '../migrations.js';
import { boundedJson, deploymentPatch, now, toAudit, toDeployment, toEvent, toLock, toRelease, toStep, toTarget, type Row } from '../rows.js';
import type { AuditRecord, DeploymentPatch, DeploymentRecord, EventRecord, LockClaim, LockRecord, NewDeployment, NewEvent, NewRelease, NewStep, ReleaseRecord, StepRecord, TargetPatch, TargetRecord } from '../types.js';
import type { Queries, QueryName } from './queries.js';
import type { AppRows } from './schema.js';
import { rowsFromSqliteFile, sqliteFromRows } from './snapshot.js';
import type { WorkerCall } from './worker.js';

type Args<N extends QueryName> = Queries[N] extends (c: never, ...a: infer A) => unknown ? A : never;
type Result<N extends QueryName> = Awaited<ReturnType<Queries[N]>>;

/**
 * The worker script: compiled beside this module in dist/. The CLI bundle (scripts/bundle-cli.mjs)
 * rewrites import.meta.url to this module's file under dist/, so it resolves there too.
 */
export const defaultWorkerFile = (): URL => new URL('./worker.js', import.meta.url);

export interface PgStoreOptions {
  url: string;
  /** A folder of the state dir where a restore stages a backup's state file before taking it in. */
  scratchDir: string;
  /** The worker script (tests built from sources give their own). */
  workerFile?: URL | string;
}

export class PgStore implements Store {
  readonly file: string;
  readonly schemaVersion = MIGRATIONS.length;
  private readonly send: (call: WorkerCall) => unknown;
  private handle: number;

  constructor(opts: PgStoreOptions) {
    this.file = join(opts.scratchDir, 'restore-state.db');
    const worker = opts.workerFile ?? defaultWorkerFile();
    const workerPath = worker instanceof URL || worker.startsWith('file:') ? fileURLToPath(worker) : worker;
    // A missing worker would only show as a call timing out: say what is wrong at once.
    if (!existsSync(workerPath)) throw new GantryError('STATE_STORE', `the PostgreSQL state store's worker script ${workerPath} is missing`, 'run `npm run build` (it compiles dist/store/pg/worker.js)');
    this.send = createSyncFn(workerPath, { timeout: DEFAULTS.pgStateCallTimeoutMs }) as (call: WorkerCall) => unknown;
    this.handle = (this.call({ op: 'open', url: opts.url }) as { handle: number }).handle;
  }

  private call(c: WorkerCall): unknown {
    try {
      return this.send(c);
    } catch (e) {
      const err = e as Error & { code?: string };
      throw new GantryError('STATE_STORE', `the engine's state store on PostgreSQL failed: ${err.message}${err.code ? ` (${err.code})` : ''}`, 'check that PostgreSQL is reachable at the --database URL and that its role may create a schema');
    }
  }

  private q<N extends QueryName>(name: N, ...args: Args<N>): Result<N> {
    if (this.handle === 0) throw new GantryError('STATE_STORE', "the engine's state store was closed", 'this is a bug: the server used its store after closing it');
    return this.call({ op: 'query', handle: this.handle, name, args }) as Result<N>;
  }

  close(): void {
    if (this.handle === 0) return;
    const handle = this.handle;
    this.handle = 0;
    this.call({ op: 'close', handle });
  }

  // ---- backup and restore ------------------------------------------------

  stateSnapshot(app: string) {
    const db = sqliteFromRows(this.q('exportApp', app));
    return { db, release: () => db.close() };
  }

  async restoreState(app: string, swap: () => Promise<void>): Promise<void> {
    try {
      await swap();
      const rows: AppRows = rowsFromSqliteFile(this.file, app);
      this.q('importApp', app, rows);
    } finally {
      for (const f of ['', '-wal', '-shm', '-journal']) rmSync(this.file + f, { force: true });
    }
  }

  newestDeploymentAt(app: string): string | undefined {
    return (this.q('newestDeploymentAt', app) as string | null) ?? undefined;
  }

  // ---- apps and targets --------------------------------------------------

  ensureTarget(app: string, target: string, type: string): TargetRecord {
    return toTarget(this.q('ensureTarget', app, target, type, now())!);
  }

  getTarget(app: string, target: string): TargetRecord | undefined {
    const row = this.q('getTarget', app, target);
    return row ? toTarget(row) : undefined;
  }

  updateTarget(app: string, target: string, patch: TargetPatch): void {
    const cur = this.getTarget(app, target);
    if (!cur) throw new Error(`no target ${app}/${target}`);
    const next = { ...cur, ...patch };
    this.q('updateTarget', app, target, [next.currentRelease ?? null, next.desiredState, next.instances, next.scaledFromManifest ?? null, next.heldNodes.length ? JSON.stringify(next.heldNodes) : null, JSON.stringify(next.settings), now()]);
  }

  forgetTarget(app: string, target: string): void {
    this.q('forgetTarget', app, target);
  }

  // ---- releases ----------------------------------------------------------

  insertRelease(r: NewRelease): ReleaseRecord {
    return toRelease(this.q('insertRelease', [r.id, r.app, r.target, now(), r.contentHash, JSON.stringify(r.artifact), JSON.stringify(r.manifest), r.status, r.git ? JSON.stringify(r.git) : null, r.buildKey ?? null])!);
  }

  getRelease(app: string, target: string, id: string): ReleaseRecord | undefined {
    const row = this.q('getRelease', app, target, id);
    return row ? toRelease(row) : undefined;
  }

  listReleases(app: string, target: string, opts: { includeDeleted?: boolean } = {}): ReleaseRecord[] {
    return this.q('listReleases', app, target, opts.includeDeleted ?? false).map(toRelease);
  }

  setReleaseStatus(app: string, target: string, id: string, status: ReleaseRecord['status'], good = false): void {
    this.q('setReleaseStatus', app, target, id, status, good ? now() : null);
  }

  markReleaseDeleted(app: string, target: string, id: string): void {
    this.q('markReleaseDeleted', app, target, id);
  }

  // ---- deployments and steps ---------------------------------------------

  insertDeployment(d: NewDeployment): DeploymentRecord {
    const v = [d.id, d.app, d.target, d.targetType, d.kind, d.release ?? null, d.previousRelease ?? null, d.status ?? 'running', d.actor, process.pid, JSON.stringify(d.platformConfig ?? {}), now()];
    return toDeployment(this.q('insertDeployment', v)!);
  }

  getDeployment(id: string): DeploymentRecord | undefined {
    const row = this.q('getDeployment', id);
    return row ? toDeployment(row) : undefined;
  }

  listDeployments(app: string, target: string, limit = 20): DeploymentRecord[] {
    return this.q('listDeployments', app, target, limit).map(toDeployment);
  }

  unfinishedDeployments(app: string, target: string): DeploymentRecord[] {
    return this.q('unfinishedDeployments', app, target).map(toDeployment);
  }

  updateDeployment(id: string, patch: DeploymentPatch): void {
    const { cols, vals } = deploymentPatch(patch);
    if (cols.length > 0) this.q('updateDeployment', id, cols, vals);
  }

  insertSteps(deploymentId: string, steps: NewStep[]): void {
    this.q('insertSteps', deploymentId, steps.map((s) => [s.kind, JSON.stringify(s.params)] as [string, string]), false);
  }

  appendSteps(deploymentId: string, steps: NewStep[]): void {
    this.q('insertSteps', deploymentId, steps.map((s) => [s.kind, JSON.stringify(s.params)] as [string, string]), true);
  }

  setStepStatus(deploymentId: string, idx: number, status: StepRecord['status'], error?: string): void {
    this.q('setStepStatus', deploymentId, idx, status, now(), error === undefined ? null : capText(error));
  }

  listSteps(deploymentId: string): StepRecord[] {
    return this.q('listSteps', deploymentId).map(toStep);
  }

  // ---- events and audit --------------------------------------------------

  insertEvent(e: NewEvent): EventRecord {
    const at = e.at ?? now();
    const seq = this.q('insertEvent', [e.deploymentId ?? null, e.app, e.target, at, e.level, e.step ?? null, capText(e.message), e.data === undefined ? null : boundedJson(e.data)]);
    return { ...e, seq, at };
  }

  listEvents(filter: { app: string; target: string; deploymentId?: string; limit?: number }): EventRecord[] {
    return this.q('listEvents', filter.app, filter.target, filter.deploymentId ?? null, filter.limit ?? 100).map(toEvent);
  }

  audit(actor: string, action: string, app?: string, target?: string, detail?: unknown): void {
    this.q('audit', [now(), actor, action, app ?? null, target ?? null, detail === undefined ? null : JSON.stringify(detail)]);
  }

  listAudit(limit = 100): AuditRecord[] {
    return this.q('listAudit', limit).map(toAudit);
  }

  // ---- locks ---------------------------------------------------------------

  /** Read the holder, judge it here (isAlive runs in this thread), then take the lock by compare and swap. */
  tryLock(app: string, target: string, me: LockClaim, isAlive: (l: LockRecord) => boolean): { held?: LockRecord; stale?: LockRecord } {
    const row = this.q('getLock', app, target);
    let stale: Row | null = null;
    if (row) {
      if (isAlive(toLock(row))) return { held: toLock(row) };
      stale = row;
    }
    const holder = this.q('takeLock', app, target, me, stale, now());
    if (holder) return { held: toLock(holder) };
    return stale ? { stale: toLock(stale) } : {};
  }

  renewLock(app: string, target: string, pid: number, host: string): boolean {
    return this.q('renewLock', app, target, pid, host, now());
  }

  unlock(app: string, target: string, pid: number, host?: string): void {
    this.q('unlock', app, target, pid, host ?? null);
  }

  getLock(app: string, target: string): LockRecord | undefined {
    const row = this.q('getLock', app, target);
    return row ? toLock(row) : undefined;
  }
}
