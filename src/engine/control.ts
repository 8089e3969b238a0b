/** Signals to a running deploy: canary promote, abort of any rollout. */
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { lockAlive } from './lock-liveness.js';
import { resolveTargetName } from './open.js';
import { storedSteps } from './stored.js';

/**
 * Signal a running deploy and wait (bounded) until it acted on it. `promote`
 * moves a canary paused at a manual analysis step on; `abort` ends any rollout
 * in progress (deploy, rollback, restart; any strategy) back at the previous
 * release: the rollout sees the flag between steps and inside its waits.
 */
export async function signal(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, what: 'promote' | 'abort'): Promise<{ deployment: string; signal: string; status: string; release?: string; reason?: string; acted: boolean }> {
  const name = resolveTargetName(loaded, targetName);
  const app = loaded.manifest.app;
  const unfinished = engine.store.unfinishedDeployments(app, name);
  const pausedAt = (id: string) => storedSteps(engine.store, id).find((s) => s.step.kind === 'analyze' && s.status === 'running');
  const d = what === 'promote' ? unfinished.find((x) => pausedAt(x.id)) : unfinished.find((x) => ABORTABLE.has(x.kind));
  if (!d) {
    if (what === 'promote') throw new GantryError('NOT_PAUSED', `no canary of ${app} on ${name} is waiting at an analysis step`, 'start one with `gantry deploy` (strategy.type: canary); `gantry status` shows what a deploy waits for');
    throw new GantryError('NOT_RUNNING', `no deploy, rollback or restart of ${app} on ${name} is in progress`, '`gantry status` shows the current release; `gantry rollback` returns to the previous one');
  }
  const paused = pausedAt(d.id);
  if (what === 'promote' && paused?.step.kind === 'analyze' && paused.step.pause !== 'manual') throw new GantryError('NOT_PAUSED', `the canary of ${app} is in a timed analysis step, not waiting for a promote`, 'it moves on by itself when its figures pass; `gantry abort` stops it');
  const holder = engine.store.getLock(app, name);
  // The holder may run on another host (replicas sharing a PostgreSQL store): its lease tells, not a local pid.
  if (!holder || !lockAlive(holder)) throw new GantryError(what === 'promote' ? 'NOT_PAUSED' : 'NOT_RUNNING', `the process running deployment ${d.id} is no longer running`, 'run `gantry status`: it reconciles the interrupted deployment');
  engine.store.updateDeployment(d.id, { control: what });
  engine.store.audit(engine.opts.actor, what, app, name, { deployment: d.id });
  const deadline = Date.now() + DEFAULTS.signalWaitMs;
  for (;;) {
    const cur = engine.store.getDeployment(d.id)!;
    const step = paused ? engine.store.listSteps(d.id)[paused.idx] : undefined;
    const acted = what === 'promote' ? step?.status !== 'running' : cur.status !== 'running';
    if (acted || Date.now() > deadline) return { deployment: d.id, signal: what, status: cur.status, release: cur.release, reason: cur.reason, acted };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The kinds of deployment a `gantry abort` ends (start, stop and scale are not rollouts). */
const ABORTABLE = new Set(['deploy', 'rollback', 'restart']);
