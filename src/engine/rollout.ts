/** A rollout (deploy, rollback, restart): plan the steps, store them, execute them, and restore the previous release on failure. */
import { GantryError } from '../core/errors.js';
import type { DeploymentRecord, ReleaseRecord, StepRecord } from '../store/index.js';
import { watchAbort } from './abort.js';
import type { AnalysisVerdict } from './analysis.js';
import type { EngineContext } from './context.js';
import { restoreAfterFailure } from './converge.js';
import { executeSteps, type ExecutionContext } from './executor.js';
import { HealthGateError } from './executors.js';
import { CanaryFailedError } from './gates.js';
import { resolveHealth, type HealthSpec } from './health.js';
import { planRollout, type Step } from './plan.js';
import { newInstanceId } from './release-id.js';
import { prune, releaseRef } from './releases.js';
import { releaseManifestOf } from './stored.js';
import type { Route } from './target.js';
import type { DeployResult, DeployStatus, EngineEventLevel, Opened, ReconcileReport, RunnableRelease } from './types.js';
import { newDeploymentId, redact, toGantryError, routerOptions } from './util.js';

export function rolloutSteps(o: Opened, release: string, count: number, routed: Array<{ instance: string; release: string }>): Step[] {
  const s = o.manifest.strategy;
  return planRollout({
    release,
    newInstances: Array.from({ length: count }, (_, i) => newInstanceId(release, i)),
    old: routed.map((r) => ({ instance: r.instance, release: r.release })),
    strategy: { type: s.type, maxSurge: s.max_surge, maxUnavailable: s.max_unavailable, steps: s.steps, pause: s.pause, keepPreviousMs: s.keep_previous, watchMs: s.watch },
    exclusive: o.manifest.exclusive ?? false,
  });
}

/**
 * Every step a rollout records, hooks included: `gantry plan` prints exactly
 * this list and the deploy that follows stores it (ids aside: a release id
 * carries its time, an instance id a nonce).
 */
export function deploymentSteps(o: Opened, spec: { kind: DeploymentRecord['kind']; releaseId: string; count: number; build: boolean }, routed: Array<{ instance: string; release: string }>): Step[] {
  const hooks = spec.kind === 'deploy' ? o.manifest.hooks : undefined;
  return [
    ...(spec.build ? [{ kind: 'build', release: spec.releaseId } as Step] : []),
    ...(hooks?.pre_deploy ? [{ kind: 'hook', name: 'pre_deploy' } as Step] : []),
    ...rolloutSteps(o, spec.releaseId, spec.count, routed),
    { kind: 'record', release: spec.releaseId },
    ...(hooks?.post_deploy ? [{ kind: 'hook', name: 'post_deploy' } as Step] : []),
  ];
}

export async function rollout(
  engine: EngineContext,
  o: Opened,
  spec: { kind: DeploymentRecord['kind']; releaseId: string; count: number; reconciled: ReconcileReport[]; build?: () => Promise<ReleaseRecord>; existing?: ReleaseRecord; signal?: AbortSignal },
): Promise<DeployResult> {
  const started = Date.now();
  const previous = o.record.currentRelease;
  const d = engine.store.insertDeployment({
    id: newDeploymentId(),
    app: o.app,
    target: o.name,
    targetType: o.target.type,
    kind: spec.kind,
    actor: engine.opts.actor,
    release: spec.releaseId,
    previousRelease: previous,
    platformConfig: redact(o.ctx.config),
  });
  const where = { app: o.app, target: o.name, deploymentId: d.id };
  const emit = (level: EngineEventLevel, message: string, step?: string, data?: unknown): void => engine.emit(where, level, message, step, data);
  const health = resolveHealth(o.manifest.health);
  const finish = (status: DeployStatus, extra: Partial<DeployResult> = {}): DeployResult => {
    const result: DeployResult = { id: d.id, app: o.app, target: o.name, kind: spec.kind, release: spec.releaseId, previous_release: previous, status, duration_ms: Date.now() - started, reconciled: spec.reconciled.length ? spec.reconciled : undefined, ...extra };
    engine.store.updateDeployment(d.id, { status, reason: result.reason, accessUrl: result.url, waiting: undefined });
    engine.store.audit(engine.opts.actor, spec.kind, o.app, o.name, { deployment: d.id, release: spec.releaseId, status });
    emit(status === 'succeeded' ? 'info' : 'error', `${spec.kind} ${status}${result.reason ? `: ${result.reason}` : ''}`, 'result', { status });
    return result;
  };

  let url: string | undefined;
  const release = spec.existing;
  const analyses: AnalysisVerdict[] = [];
  const outcome: ExecutionContext['outcome'] = { analyses };
  let routedBefore: Route[] = [];
  const abort = watchAbort(engine.store, d.id, spec.signal);
  try {
    url = (await o.runtime.ensureRouter(routerOptions(o.manifest))).url;
    engine.store.updateDeployment(d.id, { accessUrl: url });
    const routed = await o.runtime.routes();
    routedBefore = routed;
    const steps = deploymentSteps(o, { kind: spec.kind, releaseId: spec.releaseId, count: spec.count, build: Boolean(spec.build) }, routed);
    engine.store.insertSteps(d.id, steps.map((s) => ({ kind: s.kind, params: s })));
    engine.store.updateDeployment(d.id, { plan: steps });
    emit('info', `${spec.kind} ${o.app} release ${spec.releaseId} to ${o.name} (${o.target.type}, ${o.manifest.exclusive ? 'exclusive' : o.manifest.strategy.type}, ${spec.count} instance${spec.count === 1 ? '' : 's'})`, 'plan', { steps: steps.length });
    if (o.manifest.exclusive) emit('info', 'exclusive: the old release stops (after draining) before the new one starts; new requests are held meanwhile', 'plan');

    const releases = new Map<string, RunnableRelease>();
    if (release) releases.set(release.id, await releaseRef(engine, release));
    const exec: ExecutionContext = {
      store: engine.store,
      deploymentId: d.id,
      o,
      release: spec.releaseId,
      count: spec.count,
      previous,
      releases,
      handles: new Map(),
      health,
      drainTimeoutMs: o.manifest.strategy.drain_timeout,
      stopTimeoutMs: o.manifest.strategy.stop_timeout,
      emit,
      onWait: (what) => {
        engine.store.updateDeployment(d.id, { waiting: what });
        if (what) emit('info', `waiting for ${what}`, 'wait');
      },
      build: spec.build,
      runnable: (rel) => releaseRef(engine, rel),
      outcome,
      abort,
    };
    await executeSteps(exec, steps);
    await prune(engine, o, emit);
    return finish('succeeded', { url, analysis: analyses.length ? analyses : undefined });
  } catch (err) {
    const e = toGantryError(err);
    emit('error', e.message, 'error', e.toJSON());
    const attempted = outcome.built ?? release;
    if (attempted && spec.kind === 'deploy') engine.store.setReleaseStatus(o.app, o.name, attempted.id, 'failed');
    const restored = await restoreAfterFailure(engine, o, previous, spec.releaseId, d.id, routedBefore).catch((re: unknown) => {
      emit('error', `could not restore the previous release: ${(re as Error).message}`, 'rollback');
      return false;
    });
    const logs = err instanceof HealthGateError ? err.logTail : undefined;
    if (err instanceof CanaryFailedError) analyses.push(err.verdict);
    const reason = `${e.message}${restored ? `; release ${previous} keeps serving` : ''}`;
    return finish(restored ? 'rolled_back' : 'failed', { url, reason, error: e.toJSON(), logs, analysis: analyses.length ? analyses : undefined });
  } finally {
    abort.dispose();
  }
}

/** What resuming a stored plan came to. */
export interface ResumeResult {
  /** The steps from the interrupted one on all ran. */
  passed: boolean;
  /** Why not, when they did not. */
  error?: string;
  /** After a failure: the previous release serves again. */
  restored?: boolean;
  /** What remained of the interrupted step's window, for a timed step (watch). */
  remainingMs?: number;
}

/**
 * The interrupted step as it is resumed: a watch keeps the window it started
 * with (measured from the step's recorded start), so a crash neither extends
 * nor skips it. A step that never started runs whole.
 */
function resumedStep(rec: StepRecord & { step: Step }, now: number, health: HealthSpec): { step: Step; remainingMs?: number } {
  const step = rec.step;
  if (step.kind !== 'watch') return { step };
  const started = rec.startedAt ? Date.parse(rec.startedAt) : Number.NaN;
  const left = Number.isFinite(started) ? step.ms - (now - started) : step.ms;
  // No one watched while the engine was dead: even a window that ran out meanwhile gets enough probes to judge (retries in a row).
  const remainingMs = Math.min(step.ms, Math.max(left, health.retries * health.intervalMs));
  return { step: { ...step, ms: remainingMs }, remainingMs };
}

/**
 * Resume a deployment's stored plan at step `from` (its engine died there),
 * through the same executors a live rollout uses: the context is rebuilt from
 * the store (the new and the previous release) and the runtime (the observed
 * instances become the handles). If a step fails, the previous release is
 * restored exactly as after a failed live rollout.
 */
export async function resumeStoredPlan(engine: EngineContext, o: Opened, d: DeploymentRecord, stored: Array<StepRecord & { step: Step }>, from: number): Promise<ResumeResult> {
  const where = { app: o.app, target: o.name, deploymentId: d.id };
  const emit = (level: EngineEventLevel, message: string, step?: string, data?: unknown): void => engine.emit(where, level, message, step, data);
  const newRel = d.release ? engine.store.getRelease(o.app, o.name, d.release) : undefined;
  if (!newRel) throw new GantryError('RELEASE_NOT_FOUND', `deployment ${d.id} has no stored release to resume with`);
  const prevRel = d.previousRelease ? engine.store.getRelease(o.app, o.name, d.previousRelease) : undefined;
  const releases = new Map<string, RunnableRelease>();
  releases.set(newRel.id, await releaseRef(engine, newRel));
  if (prevRel) releases.set(prevRel.id, await releaseRef(engine, prevRel));
  const steps = stored.map((s) => s.step);
  const health = resolveHealth(releaseManifestOf(newRel).health);
  const { step, remainingMs } = resumedStep(stored[from]!, Date.now(), health);
  steps[from] = step;
  // As many instances as the plan starts of the new release (a rollback or restart starts the same count).
  const count = steps.filter((s) => s.kind === 'startInstance' && s.release === newRel.id).length || o.record.instances;
  const outcome: ExecutionContext['outcome'] = { analyses: [] };
  const exec: ExecutionContext = {
    store: engine.store,
    deploymentId: d.id,
    o,
    release: newRel.id,
    count,
    previous: d.previousRelease,
    releases,
    handles: new Map(),
    health,
    drainTimeoutMs: o.manifest.strategy.drain_timeout,
    stopTimeoutMs: o.manifest.strategy.stop_timeout,
    emit,
    onWait: (what) => engine.store.updateDeployment(d.id, { waiting: what }),
    runnable: (rel) => releaseRef(engine, rel),
    outcome,
  };
  emit('info', `resuming the stored plan at step ${from + 1} of ${steps.length} (${step.kind}${remainingMs !== undefined ? `, ${remainingMs}ms of its window left` : ''})`, 'reconcile');
  try {
    await o.runtime.ensureRouter(routerOptions(o.manifest));
    await executeSteps(exec, steps, from);
    await prune(engine, o, emit);
    return { passed: true, remainingMs };
  } catch (err) {
    const e = toGantryError(err);
    emit('error', e.message, 'error', e.toJSON());
    if (d.kind === 'deploy') engine.store.setReleaseStatus(o.app, o.name, newRel.id, 'failed');
    const restored = await restoreAfterFailure(engine, o, d.previousRelease, newRel.id, d.id, []).catch((re: unknown) => {
      emit('error', `could not restore the previous release: ${(re as Error).message}`, 'rollback');
      return false;
    });
    return { passed: false, error: e.message, restored, remainingMs };
  }
}
