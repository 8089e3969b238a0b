/** A rollout (deploy, rollback, restart): plan the steps, store them, execute them, and restore the previous release on failure. */
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { DeploymentRecord, ReleaseRecord } from '../store/index.js';
import type { AnalysisVerdict } from './analysis.js';
import type { EngineContext } from './context.js';
import { restoreAfterFailure } from './converge.js';
import { executeSteps, type ExecutionContext, HealthGateError } from './executor.js';
import { analyzeCanary, CanaryFailedError, watchAfterSwitch } from './gates.js';
import { resolveHealth } from './health.js';
import { planRollout, type Step } from './plan.js';
import { newInstanceId } from './release-id.js';
import { appEnv } from './release-secrets.js';
import { prune, releaseRef } from './releases.js';
import type { Route } from './target.js';
import type { DeployResult, DeployStatus, EngineEventLevel, Opened, ReconcileReport, RunnableRelease } from './types.js';
import { newDeploymentId, redact, toGantryError } from './util.js';

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
  spec: { kind: DeploymentRecord['kind']; releaseId: string; count: number; reconciled: ReconcileReport[]; build?: () => Promise<ReleaseRecord>; existing?: ReleaseRecord },
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
  let release = spec.existing;
  const analyses: AnalysisVerdict[] = [];
  let routedBefore: Route[] = [];
  try {
    url = (await o.runtime.ensureRouter()).url;
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
      runtime: o.runtime,
      releases,
      appEnv: (rel, inst) => appEnv(o, releases.get(rel)!, inst),
      health,
      drainTimeoutMs: o.manifest.strategy.drain_timeout ?? DEFAULTS.strategy.drainTimeoutMs,
      stopTimeoutMs: o.manifest.strategy.stop_timeout ?? DEFAULTS.strategy.stopTimeoutMs,
      emit,
      onWait: (what) => {
        engine.store.updateDeployment(d.id, { waiting: what });
        if (what) emit('info', `waiting for ${what}`, 'wait');
      },
      custom: {
        build: async () => {
          release = await spec.build!();
          releases.set(release.id, await releaseRef(engine, release));
          engine.store.updateDeployment(d.id, { externalId: release.artifact.ref as string });
        },
        hook: async (step) => {
          const name = (step as Extract<Step, { kind: 'hook' }>).name;
          const rel = releases.get(spec.releaseId)!;
          const r = await o.runtime
            .runTask({ release: rel, command: o.manifest.hooks![name]!, env: appEnv(o, rel, `hook-${name}`), secretEnv: rel.secretEnv, timeoutMs: DEFAULTS.hookTimeoutMs })
            .catch((err: unknown) => {
              // After the switch a broken post_deploy is a warning, never a rollback of a healthy release.
              if (name === 'post_deploy') return { exitCode: -1, output: `could not run: ${(err as Error).message}` };
              throw err;
            });
          for (const line of r.output.split('\n').filter(Boolean).slice(-DEFAULTS.hookOutputLines)) emit(r.exitCode === 0 ? 'info' : 'warn', `${name}: ${line}`, 'hook');
          if (r.exitCode === 0) return;
          if (name === 'pre_deploy') throw new GantryError('HOOK_FAILED', `hooks.pre_deploy exited with code ${r.exitCode}; no traffic was moved`, 'its output is in the events above (gantry events); fix the hook or the release and deploy again');
          emit('warn', `hooks.post_deploy exited with code ${r.exitCode}; the release is deployed and stays`, 'hook');
        },
        watch: async (step) => watchAfterSwitch(engine.store, o, d.id, step as Extract<Step, { kind: 'watch' }>, health, emit),
        analyze: async (step) => {
          analyses.push(await analyzeCanary(engine.store, o, d.id, step as Extract<Step, { kind: 'analyze' }>, previous, emit));
        },
        record: async () => {
          engine.store.updateTarget(o.app, o.name, { currentRelease: spec.releaseId, desiredState: 'running', instances: spec.count });
          if (previous && previous !== spec.releaseId) engine.store.setReleaseStatus(o.app, o.name, previous, 'superseded');
          engine.store.setReleaseStatus(o.app, o.name, spec.releaseId, 'active', true);
          await o.runtime.markCurrent(releases.get(spec.releaseId)!);
        },
      },
    };
    await executeSteps(exec, steps);
    await prune(engine, o, emit);
    return finish('succeeded', { url, analysis: analyses.length ? analyses : undefined });
  } catch (err) {
    const e = toGantryError(err);
    emit('error', e.message, 'error', e.toJSON());
    if (release && spec.kind === 'deploy') engine.store.setReleaseStatus(o.app, o.name, release.id, 'failed');
    const restored = await restoreAfterFailure(engine, o, previous, spec.releaseId, d.id, routedBefore).catch((re: unknown) => {
      emit('error', `could not restore the previous release: ${(re as Error).message}`, 'rollback');
      return false;
    });
    const logs = err instanceof HealthGateError ? err.logTail : undefined;
    if (err instanceof CanaryFailedError) analyses.push(err.verdict);
    const reason = `${e.message}${restored ? `; release ${previous} keeps serving` : ''}`;
    return finish(restored ? 'rolled_back' : 'failed', { url, reason, error: e.toJSON(), logs, analysis: analyses.length ? analyses : undefined });
  }
}
