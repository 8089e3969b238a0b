/** Crash recovery: finish or undo deployments whose engine died, from their stored plans. */
import { isGantryError } from '../core/errors.js';
import type { DeploymentRecord } from '../store/index.js';
import { fallbackFor } from './compensation.js';
import type { EngineContext } from './context.js';
import { scaleForgotten } from './formation.js';
import { resolveHealth } from './health.js';
import { acquireLock } from './lock.js';
import { continueStoredPlan, decideResume, interruptedStep } from './resume.js';
import { runCompensation } from './run-plan.js';
import { releaseManifestOf, storedSteps } from './stored.js';
import type { Opened, ReconcileReport } from './types.js';

/**
 * Finish or undo deployments whose engine died (we hold the lock, so their
 * process is gone), from their stored plans: continue the plan, or run its
 * compensation (see resume.ts for which).
 */
export async function reconcileLocked(engine: EngineContext, o: Opened): Promise<ReconcileReport[]> {
  const reports: ReconcileReport[] = [];
  for (const d of engine.store.unfinishedDeployments(o.app, o.name)) {
    if (d.pid === process.pid) continue;
    const report = await reconcileOne(engine, o, d);
    engine.emit({ app: o.app, target: o.name, deploymentId: d.id }, 'info', `reconciled: ${report.outcome}${report.release ? ` (${report.release} serves)` : ''}`, 'reconcile', report);
    reports.push(report);
    o.record = engine.store.getTarget(o.app, o.name)!;
  }
  return reports;
}

async function reconcileOne(engine: EngineContext, o: Opened, d: DeploymentRecord): Promise<ReconcileReport> {
  const steps = storedSteps(engine.store, d.id);
  const at = interruptedStep(steps);
  const where = { app: o.app, target: o.name, deploymentId: d.id };
  const interruptedAt = at ? `${at.kind} (step ${at.idx + 1} of ${steps.length})` : 'after its last step';
  engine.emit(where, 'warn', `deployment ${d.id} was interrupted at ${interruptedAt}; reconciling`, 'reconcile');
  let decision = decideResume(d, steps);
  if (decision.action === 'continue' && !(await stillHealthy(engine, o, d, steps, decision.from))) decision = { action: 'compensate', why: 'the new release does not answer its health check now' };
  engine.emit(where, 'info', `${decision.action === 'continue' ? 'continuing its stored plan' : 'going back'}: ${decision.why}`, 'reconcile');
  const rollout = d.kind === 'deploy' || d.kind === 'rollback' || d.kind === 'restart';
  try {
    if (decision.action === 'continue') {
      const r = await continueStoredPlan(engine, o, d, steps, decision.from);
      const window = r.remainingMs !== undefined ? ` for the remaining ${(r.remainingMs / 1000).toFixed(1)}s of its window` : '';
      const resumed = { step: interruptedAt, remaining_ms: r.remainingMs, result: r.passed ? ('passed' as const) : ('failed' as const), reason: r.error };
      if (r.passed) {
        if (d.kind === 'deploy' && scaleForgotten(o)) engine.store.updateTarget(o.app, o.name, { scaledFromManifest: undefined });
        engine.store.updateDeployment(d.id, { status: 'succeeded', reason: `interrupted at ${interruptedAt}; resumed by reconciliation${window}, it passed and the stored plan completed`, waiting: undefined });
        return { deployment: d.id, interrupted_at: interruptedAt, outcome: d.kind === 'stop' ? 'stopped' : 'completed', release: d.kind === 'stop' ? undefined : d.release, resumed };
      }
      return await goBack(engine, o, d, interruptedAt, `resumed by reconciliation${window} and it failed: ${r.error}`, rollout, resumed);
    }
    return await goBack(engine, o, d, interruptedAt, `${d.control === 'abort' ? 'aborted and ' : ''}${decision.why}`, rollout);
  } catch (err) {
    engine.store.updateDeployment(d.id, { status: 'failed', reason: `interrupted at ${interruptedAt}; reconciliation failed: ${(err as Error).message}` });
    throw err;
  }
}

/** Before continuing a rollout whose traffic moved: the new release must answer now, unless a watch still ahead will judge it. */
async function stillHealthy(engine: EngineContext, o: Opened, d: DeploymentRecord, steps: ReturnType<typeof storedSteps>, from: number): Promise<boolean> {
  const rollout = d.kind === 'deploy' || d.kind === 'rollback' || d.kind === 'restart';
  if (!rollout || !d.release || steps.slice(from).some((s) => s.step.kind === 'watch')) return true;
  const rel = engine.store.getRelease(o.app, o.name, d.release);
  if (!rel) return false;
  const health = resolveHealth(releaseManifestOf(rel).health);
  const routes = await o.runtime.routes();
  if (routes.length === 0 || routes.some((r) => r.release !== rel.id)) return steps.every((s) => s.step.kind !== 'switchTraffic');
  const observed = new Map((await o.runtime.instances()).map((i) => [i.id, i]));
  for (const r of routes) {
    const inst = observed.get(r.instance);
    if (!inst || !(await o.runtime.probe(inst, health)).ok) return false;
  }
  return true;
}

async function goBack(engine: EngineContext, o: Opened, d: DeploymentRecord, interruptedAt: string, why: string, rollout: boolean, resumed?: ReconcileReport['resumed']): Promise<ReconcileReport> {
  const fallback = fallbackFor(o, d);
  const restored = await runCompensation(engine, o, d, fallback, `interrupted at ${interruptedAt}: ${why}`);
  if (d.kind === 'deploy' && d.release && d.release !== fallback.release) engine.store.setReleaseStatus(o.app, o.name, d.release, 'failed');
  const to = restored ? fallback.release : undefined;
  const status = restored && rollout ? 'rolled_back' : 'failed';
  engine.store.updateDeployment(d.id, { status, reason: `interrupted at ${interruptedAt}; ${why}; reconciled back to ${to ?? 'nothing (first deploy)'}`, waiting: undefined });
  return { deployment: d.id, interrupted_at: interruptedAt, outcome: restored ? 'rolled_back' : 'stopped', release: to, resumed };
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
