/** Crash recovery: finish or undo deployments whose engine died. */
import { isGantryError } from '../core/errors.js';
import type { EngineContext } from './context.js';
import { ensureServing } from './converge.js';
import { desiredInstances, scaleForgotten } from './formation.js';
import { resolveHealth } from './health.js';
import { acquireLock } from './lock.js';
import type { Step } from './plan.js';
import { resumeStoredPlan } from './rollout.js';
import { releaseManifestOf, storedSteps } from './stored.js';
import type { DeploymentRecord } from '../store/index.js';
import type { Opened, ReconcileReport } from './types.js';

/**
 * Finish or undo deployments whose engine died (we hold the lock, so their
 * process is gone). Forward when traffic already went wholly to the new
 * release and it is healthy; otherwise back to the previous release.
 */
export async function reconcileLocked(engine: EngineContext, o: Opened): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  for (const d of engine.store.unfinishedDeployments(o.app, o.name)) {
    if (d.pid === process.pid) continue;
    const steps = storedSteps(engine.store, d.id);
    const at = steps.find((s) => s.status === 'running') ?? steps.find((s) => s.status === 'pending');
    const where = { app: o.app, target: o.name, deploymentId: d.id };
    const interruptedAt = at ? `${at.kind} (step ${at.idx + 1} of ${steps.length})` : 'after its last step';
    engine.emit(where, 'warn', `deployment ${d.id} was interrupted at ${interruptedAt}; reconciling`, 'reconcile');
    const routes = await o.runtime.routes();
    const newRel = d.release ? engine.store.getRelease(o.app, o.name, d.release) : undefined;
    const count = d.kind === 'deploy' ? desiredInstances(o) : o.record.instances;
    // Forward only for a rollout whose traffic had moved wholly to the new release, and only if that release is healthy now.
    const rollout = d.kind === 'deploy' || d.kind === 'rollback' || d.kind === 'restart';
    // An abort was asked for before the process died (`gantry abort`, Ctrl-C then a second one): never forward.
    let forward = Boolean(rollout && d.control !== 'abort' && newRel && newRel.id !== d.previousRelease && routes.length > 0 && routes.every((r) => r.release === newRel.id));
    if (forward) {
      const health = resolveHealth(releaseManifestOf(newRel!).health);
      const observed = new Map((await o.runtime.instances()).map((i) => [i.id, i]));
      for (const r of routes) {
        const inst = observed.get(r.instance);
        if (!inst || !(await o.runtime.probe(inst, health)).ok) forward = false;
      }
    }
    let report: ReconcileReport | undefined;
    try {
      // A plan interrupted in its watch window is resumed, not judged by one probe: the rest of the window runs, then the rest of the plan.
      if (rollout && at && RESUMABLE.has(at.step.kind) && newRel && d.previousRelease && d.previousRelease !== newRel.id) {
        report = await resume(engine, o, d, steps, at.idx, interruptedAt);
      }
      if (!report && forward) {
        try {
          await ensureServing(engine, o, newRel!, count, d.id);
          engine.store.updateTarget(o.app, o.name, { currentRelease: newRel!.id, desiredState: 'running', instances: count, ...(d.kind === 'deploy' && scaleForgotten(o) ? { scaledFromManifest: undefined } : {}) });
          if (d.previousRelease && d.previousRelease !== newRel!.id) engine.store.setReleaseStatus(o.app, o.name, d.previousRelease, 'superseded');
          engine.store.setReleaseStatus(o.app, o.name, newRel!.id, 'active', true);
          engine.store.updateDeployment(d.id, { status: 'succeeded', reason: `interrupted at ${interruptedAt}; traffic had switched to a healthy release, completed by reconciliation`, waiting: undefined });
          report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'completed', release: newRel!.id };
        } catch (err) {
          engine.emit(where, 'warn', `could not complete the interrupted deployment (${(err as Error).message}); going back instead`, 'reconcile');
        }
      }
      if (!report && d.kind === 'stop') {
        await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
        engine.store.updateDeployment(d.id, { status: 'succeeded', reason: `interrupted at ${interruptedAt}; the stop was completed by reconciliation`, waiting: undefined });
        report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'stopped' };
      }
      if (!report) {
        const prevId = d.previousRelease ?? o.record.currentRelease;
        const prev = prevId ? engine.store.getRelease(o.app, o.name, prevId) : undefined;
        if (prev && o.record.desiredState === 'running') {
          await ensureServing(engine, o, prev, o.record.instances, d.id);
          report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'rolled_back', release: prev.id };
        } else {
          await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
          report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'stopped' };
        }
        if (newRel && newRel.id !== prev?.id) engine.store.setReleaseStatus(o.app, o.name, newRel.id, 'failed');
        engine.store.updateDeployment(d.id, { status: report.outcome === 'rolled_back' ? 'rolled_back' : 'failed', reason: `${d.control === 'abort' ? 'aborted and ' : ''}interrupted at ${interruptedAt}; reconciled back to ${prev?.id ?? 'nothing (first deploy)'}`, waiting: undefined });
      }
    } catch (err) {
      engine.store.updateDeployment(d.id, { status: 'failed', reason: `interrupted at ${interruptedAt}; reconciliation failed: ${(err as Error).message}` });
      throw err;
    }
    engine.emit(where, 'info', `reconciled: ${report.outcome}${report.release ? ` (${report.release} serves)` : ''}`, 'reconcile', report);
    reports.push(report);
  }
  return reports;
}

/**
 * Step kinds whose interruption is resumed from the stored plan. Only the
 * watch for now; the other kinds keep the forward/back logic above.
 */
const RESUMABLE = new Set<Step['kind']>(['watch']);

async function resume(engine: EngineContext, o: Opened, d: DeploymentRecord, steps: ReturnType<typeof storedSteps>, from: number, interruptedAt: string): Promise<ReconcileReport> {
  const where = { app: o.app, target: o.name, deploymentId: d.id };
  engine.emit(where, 'info', `resuming deployment ${d.id} at ${interruptedAt}; the previous release ${d.previousRelease} stays warm meanwhile`, 'reconcile');
  const r = await resumeStoredPlan(engine, o, d, steps, from);
  const window = r.remainingMs !== undefined ? ` for the remaining ${(r.remainingMs / 1000).toFixed(1)}s of its window` : '';
  const resumed = { step: interruptedAt, remaining_ms: r.remainingMs, result: r.passed ? ('passed' as const) : ('failed' as const), reason: r.error };
  if (r.passed) {
    engine.store.updateDeployment(d.id, { status: 'succeeded', reason: `interrupted at ${interruptedAt}; resumed by reconciliation${window}, it passed and the stored plan completed`, waiting: undefined });
    return { deployment: d.id, interrupted_at: interruptedAt, outcome: 'completed', release: d.release, resumed };
  }
  const reason = `interrupted at ${interruptedAt}; resumed by reconciliation${window} and it failed: ${r.error}`;
  if (r.restored) {
    engine.store.updateDeployment(d.id, { status: 'rolled_back', reason: `${reason}; release ${d.previousRelease} keeps serving`, waiting: undefined });
    return { deployment: d.id, interrupted_at: interruptedAt, outcome: 'rolled_back', release: d.previousRelease, resumed };
  }
  engine.store.updateDeployment(d.id, { status: 'failed', reason, waiting: undefined });
  return { deployment: d.id, interrupted_at: interruptedAt, outcome: 'stopped', resumed };
}

/** Reconcile now if no one holds the lock (used by read commands such as status). */
export async function reconcileIfFree(engine: EngineContext, o: Opened): Promise<ReconcileReport[]> {
  const pending = engine.store.unfinishedDeployments(o.app, o.name);
  if (pending.length === 0) return [];
  let unlock: (() => void) | undefined;
  try {
    unlock = await acquireLock(engine.store, o.app, o.name, { command: 'status', wait: false });
  } catch (err) {
    if (isGantryError(err) && err.code === 'LOCK_HELD') return [];
    throw err;
  }
  try {
    const reports = await reconcileLocked(engine, o);
    o.record = engine.store.getTarget(o.app, o.name)!;
    return reports;
  } finally {
    unlock();
  }
}
