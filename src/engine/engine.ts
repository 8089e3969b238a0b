/**
 * The engine's face: one class with the operations the CLI calls. Each operation
 * lives in a module of its own and takes the shared EngineContext.
 */
import type { LoadedManifest } from '../manifest/index.js';
import type { DeploymentRecord } from '../store/index.js';
import type { LoadSample, ScaleDecision } from './autoscale.js';
import { backup, backups, backupsDir, restore } from './backup-glue.js';
import { engineContext, type EngineContext } from './context.js';
import type { HostOption } from './hosts.js';
import { signal } from './control.js';
import { deploy } from './deploy.js';
import { destroy, type DestroyResult } from './destroy.js';
import { exec, type ExecOptions, type ExecResult } from './exec.js';
import { maintenance, type MaintenanceResult } from './maintenance.js';
import { doctor } from './doctor.js';
import { restart, rollback, start, stop } from './lifecycle.js';
import { targetNames } from './open.js';
import { plan } from './preview.js';
import type { LogFilter } from './read.js';
import { push } from './push.js';
import { events, history, logs, releases } from './read.js';
import { autoscaleTick, scale } from './scale.js';
import { status } from './status.js';
import type { DoctorCheck } from './target.js';
import type { AutoscaleState, DeployResult, EngineOptions, PlanResult, ReleaseInfo, TargetStatus } from './types.js';

export class Engine {
  private readonly engine: EngineContext;

  constructor(opts: EngineOptions) {
    this.engine = engineContext(opts);
  }

  targetNames(loaded: LoadedManifest): string[] {
    return targetNames(loaded);
  }

  /** Each target of the manifest checks what its config points at (e.g. every ssh host). */
  doctor(loaded: LoadedManifest): Promise<{ types: string[]; checks: DoctorCheck[] }> {
    return doctor(this.engine, loaded);
  }

  plan(loaded: LoadedManifest, targetName?: string): Promise<PlanResult> {
    return plan(this.engine, loaded, targetName);
  }

  /** `signal`: aborting it ends the rollout back at the previous release (Ctrl-C in the CLI). */
  deploy(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean; force?: boolean; signal?: AbortSignal } = {}): Promise<DeployResult> {
    return deploy(this.engine, loaded, targetName, opts);
  }

  rollback(loaded: LoadedManifest, targetName: string | undefined, releaseId: string | undefined, opts: { wait?: boolean; signal?: AbortSignal; keepSecrets?: boolean } & HostOption = {}): Promise<DeployResult> {
    return rollback(this.engine, loaded, targetName, releaseId, opts);
  }

  /** `hosts`: a rolling restart of only those nodes of a many-node target. */
  restart(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean; signal?: AbortSignal } & HostOption = {}): Promise<DeployResult> {
    return restart(this.engine, loaded, targetName, opts);
  }

  /** `hosts`: start only those nodes and stop holding them (see stop). */
  start(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } & HostOption = {}): Promise<DeployResult> {
    return start(this.engine, loaded, targetName, opts);
  }

  /** `hosts`: stop only those nodes and hold them stopped: later deploys, heals and scaling leave them out until `start` names them. */
  stop(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } & HostOption = {}): Promise<DeployResult> {
    return stop(this.engine, loaded, targetName, opts);
  }

  /** Promote a paused canary, or abort any rollout in progress, and wait until it acts on it. */
  signal(loaded: LoadedManifest, targetName: string | undefined, what: 'promote' | 'abort'): Promise<{ deployment: string; signal: string; status: string; release?: string; reason?: string; acted: boolean }> {
    return signal(this.engine, loaded, targetName, what);
  }

  scale(loaded: LoadedManifest, targetName: string | undefined, count: number, opts: { wait?: boolean; reason?: string } & HostOption = {}): Promise<DeployResult & { from: number; to: number }> {
    return scale(this.engine, loaded, targetName, count, opts);
  }

  autoscaleTick(loaded: LoadedManifest, targetName: string | undefined, state: AutoscaleState): Promise<{ action: 'none' | 'scaled' | 'busy' | 'stop' | 'failed'; load?: LoadSample; decision?: ScaleDecision; reason?: string }> {
    return autoscaleTick(this.engine, loaded, targetName, state);
  }

  backupsDir(): string {
    return backupsDir(this.engine);
  }

  backup(loaded: LoadedManifest, targetName: string | undefined, opts: { includeSecrets?: boolean; out?: string; reason?: string; wait?: boolean } = {}) {
    return backup(this.engine, loaded, targetName, opts);
  }

  backups(loaded: LoadedManifest) {
    return backups(this.engine, loaded);
  }

  restore(loaded: LoadedManifest, targetName: string | undefined, file: string, opts: { force?: boolean; wait?: boolean } = {}) {
    return restore(this.engine, loaded, targetName, file, opts);
  }

  push(loaded: LoadedManifest, targetName: string | undefined, opts: { registry?: string; release?: string; auth?: { username: string; password: string } }) {
    return push(this.engine, loaded, targetName, opts);
  }

  /** A one-off command in the current release's environment (or that of `opts.instance`), with the caller's stdio. */
  exec(loaded: LoadedManifest, targetName: string | undefined, opts: ExecOptions): Promise<ExecResult> {
    return exec(this.engine, loaded, targetName, opts);
  }

  /** Remove everything of the app on the target (persistent data kept with `keepData`; secrets only with `includeSecrets`). */
  destroy(loaded: LoadedManifest, targetName: string | undefined, opts: { includeSecrets?: boolean; keepData?: boolean; wait?: boolean }): Promise<DestroyResult> {
    return destroy(this.engine, loaded, targetName, opts);
  }

  /** Maintenance mode on (requests get a 503 page; instances keep running) or off. */
  maintenance(loaded: LoadedManifest, targetName: string | undefined, opts: { on: boolean; message?: string }): Promise<MaintenanceResult> {
    return maintenance(this.engine, loaded, targetName, opts);
  }

  status(loaded: LoadedManifest, targetName?: string, opts: HostOption = {}): Promise<{ app: string; targets: TargetStatus[] }> {
    return status(this.engine, loaded, targetName, opts);
  }

  releases(loaded: LoadedManifest, targetName?: string): Promise<ReleaseInfo[]> {
    return releases(this.engine, loaded, targetName);
  }

  logs(loaded: LoadedManifest, targetName: string | undefined, opts: { lines: number; follow: boolean; signal?: AbortSignal; access?: boolean } & LogFilter & HostOption) {
    return logs(this.engine, loaded, targetName, opts);
  }

  events(loaded: LoadedManifest, targetName: string | undefined, opts: { deploymentId?: string; limit?: number }) {
    return events(this.engine, loaded, targetName, opts);
  }

  history(loaded: LoadedManifest, targetName?: string, limit = 20): DeploymentRecord[] {
    return history(this.engine, loaded, targetName, limit);
  }
}
