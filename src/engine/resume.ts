/**
 * After a crash: how to finish a deployment from its stored plan. It either
 * continues (the remaining steps, from the interrupted one, through the same
 * executors) or compensates (goes back to the fallback). The choice is made
 * from the stored steps alone, never from the target's type.
 */
import type { DeploymentRecord, StepRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { fallbackFor } from './compensation.js';
import { executeSteps } from './executor.js';
import type { HealthSpec } from './health.js';
import type { Step } from './plan.js';
import { prune } from './releases.js';
import { executionContext } from './run-plan.js';
import type { Opened } from './types.js';
import { ensureAccess } from './nodes.js';
import { toGantryError } from './util.js';

export type StoredStep = StepRecord & { step: Step };

export type ResumeDecision = { action: 'continue'; from: number; why: string } | { action: 'compensate'; why: string };

const ROLLOUT_KINDS = new Set<DeploymentRecord['kind']>(['deploy', 'rollback', 'restart']);

/** The step a crash interrupted: the one marked running, else the first not yet run. */
export function interruptedStep(steps: StoredStep[]): StoredStep | undefined {
  return steps.find((s) => s.status === 'running') ?? steps.find((s) => s.status === 'pending');
}

/**
 * Continue or go back. A rollout continues only once its last traffic switch
 * has run (the new release serves all traffic, what remains is the watch, the
 * retirement of the old set, the record): before that, going back to the warm
 * previous release is the safe way. Plans that only converge (start, scale,
 * stop, heal) continue: their steps are idempotent. An abort asked for, or a
 * compensation already begun, always goes back.
 */
export function decideResume(d: Pick<DeploymentRecord, 'kind' | 'control'>, steps: StoredStep[]): ResumeDecision {
  const at = interruptedStep(steps);
  if (steps.some((s) => s.step.kind === 'compensate')) return { action: 'compensate', why: 'it was already going back' };
  if (d.control === 'abort') return { action: 'compensate', why: 'an abort was asked for' };
  const from = at?.idx ?? steps.length;
  if (!ROLLOUT_KINDS.has(d.kind)) return { action: 'continue', from, why: 'its steps converge and can run again' };
  const lastSwitch = steps.map((s) => s.step.kind).lastIndexOf('switchTraffic');
  if (from > lastSwitch) return { action: 'continue', from, why: 'traffic had moved to the new release' };
  return { action: 'compensate', why: 'traffic had not wholly moved to the new release' };
}

/**
 * The interrupted step as it is resumed: a watch keeps the window it started
 * with (measured from the step's recorded start), so a crash neither extends
 * nor skips it. A post_deploy hook is not run twice (it may notify someone).
 */
function resumedStep(rec: StoredStep, now: number, health: HealthSpec): { step: Step | undefined; remainingMs?: number } {
  const step = rec.step;
  if (step.kind === 'hook' && step.name === 'post_deploy' && rec.status === 'running') return { step: undefined };
  if (step.kind !== 'watch') return { step };
  const started = rec.startedAt ? Date.parse(rec.startedAt) : Number.NaN;
  const left = Number.isFinite(started) ? step.ms - (now - started) : step.ms;
  // No one watched while the engine was dead: even a window that ran out meanwhile gets enough probes to judge (retries in a row).
  const remainingMs = Math.min(step.ms, Math.max(left, health.retries * health.intervalMs));
  return { step: { ...step, ms: remainingMs }, remainingMs };
}

export interface ContinueResult {
  passed: boolean;
  error?: string;
  /** What remained of the interrupted step's window, for a timed step (watch). */
  remainingMs?: number;
}

/** Run a deployment's stored steps from `from` on, rebuilt from the store and the runtime (the observed instances become the handles). */
export async function continueStoredPlan(engine: EngineContext, o: Opened, d: DeploymentRecord, stored: StoredStep[], from: number): Promise<ContinueResult> {
  const get = (id?: string) => (id ? engine.store.getRelease(o.app, o.name, id) : undefined);
  const newRel = get(d.release);
  const prevRel = d.previousRelease !== d.release ? get(d.previousRelease) : undefined;
  const steps = stored.map((s) => s.step);
  // As many instances as the plan starts of the new release (a rollback or restart starts the same count).
  const count = steps.filter((s) => s.kind === 'startInstance' && s.release === d.release).length || o.record.instances;
  const ctx = await executionContext(engine, o, d, { release: d.release ?? '', count, kind: d.kind, releases: [newRel, prevRel].filter((r) => r !== undefined), live: false, fallback: fallbackFor(o, d) });
  let remainingMs: number | undefined;
  if (from < steps.length) {
    const r = resumedStep(stored[from]!, Date.now(), ctx.health);
    remainingMs = r.remainingMs;
    if (r.step) steps[from] = r.step;
    else {
      ctx.emit('warn', 'the post_deploy hook was interrupted; it is not run again', 'reconcile');
      engine.store.setStepStatus(d.id, from, 'skipped');
      from++;
    }
  }
  const left = from < steps.length ? `at step ${from + 1} of ${steps.length} (${steps[from]!.kind}${remainingMs !== undefined ? `, ${remainingMs}ms of its window left` : ''})` : 'after its last step';
  ctx.emit('info', `continuing the stored plan ${left}`, 'reconcile');
  try {
    if (d.kind !== 'stop') await ensureAccess(engine, o);
    await executeSteps(ctx, steps, from, 0, new Set(stored.filter((s) => s.status === 'done').map((s) => s.idx)));
    await prune(engine, o, ctx.emit);
    return { passed: true, remainingMs };
  } catch (err) {
    const e = toGantryError(err);
    ctx.emit('error', e.message, 'error', e.toJSON());
    return { passed: false, error: e.message, remainingMs };
  }
}
