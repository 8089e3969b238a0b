/** A rollout (deploy, rollback, restart): plan the steps, store them, execute them, and restore the previous release on failure. */
import type { DeploymentRecord, ReleaseRecord } from '../store/index.js';
import { watchAbort } from './abort.js';
import type { AnalysisVerdict } from './analysis.js';
import type { EngineContext } from './context.js';
import { restoreAfterFailure } from './converge.js';
import { executeSteps, type ExecutionContext } from './executor.js';
import { HealthGateError } from './executors.js';
import { CanaryFailedError } from './gates.js';
import { resolveHealth } from './health.js';
import { planRollout, type Step } from './plan.js';
import { newInstanceId } from './release-id.js';
import { prune, releaseRef } from './releases.js';
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
    const rollout = rolloutSteps(o, spec.releaseId, spec.count, routed);
    const hooks = spec.kind === 'deploy' ? o.manifest.hooks : undefined;
    const steps: Step[] = [
      ...(spec.build ? [{ kind: 'build', release: spec.releaseId } as Step] : []),
      ...(hooks?.pre_deploy ? [{ kind: 'hook', name: 'pre_deploy' } as Step] : []),
      ...rollout,
      { kind: 'record', release: spec.releaseId },
      ...(hooks?.post_deploy ? [{ kind: 'hook', name: 'post_deploy' } as Step] : []),
    ];
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
