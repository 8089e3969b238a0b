/** Signals to a running deploy (canary promote / abort). */
import { GantryError } from '../core/errors.js';
import { pidAlive } from '../core/pid.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { resolveTargetName } from './open.js';
import { storedSteps } from './stored.js';

/** Signal a running canary deploy (promote or abort) and wait until it acts on it. */
export async function signal(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, what: 'promote' | 'abort'): Promise<{ deployment: string; signal: string; status: string; release?: string; acted: boolean }> {
  const name = resolveTargetName(loaded, targetName);
  const app = loaded.manifest.app;
  const d = engine.store.unfinishedDeployments(app, name).find((x) => storedSteps(engine.store, x.id).some((s) => s.step.kind === 'analyze' && s.status === 'running'));
  if (!d) throw new GantryError('NOT_PAUSED', `no canary of ${app} on ${name} is waiting at an analysis step`, 'start one with `gantry deploy` (strategy.type: canary); `gantry status` shows what a deploy waits for');
  const paused = storedSteps(engine.store, d.id).find((s) => s.step.kind === 'analyze' && s.status === 'running')!;
  const stepAt = paused.idx;
  if (what === 'promote' && paused.step.kind === 'analyze' && paused.step.pause !== 'manual') throw new GantryError('NOT_PAUSED', `the canary of ${app} is in a timed analysis step, not waiting for a promote`, 'it moves on by itself when its figures pass; `gantry abort` stops it');
  const holder = engine.store.getLock(app, name);
  if (!holder || !pidAlive(holder.pid)) throw new GantryError('NOT_PAUSED', `the deploy ${d.id} that paused this canary is no longer running`, 'run `gantry status`: it reconciles the interrupted deployment');
  engine.store.updateDeployment(d.id, { control: what });
  engine.store.audit(engine.opts.actor, what, app, name, { deployment: d.id });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const cur = engine.store.getDeployment(d.id)!;
    const step = engine.store.listSteps(d.id)[stepAt]!;
    const acted = what === 'promote' ? step.status !== 'running' : cur.status !== 'running';
    if (acted || Date.now() > deadline) return { deployment: d.id, signal: what, status: cur.status, release: cur.release, acted };
    await new Promise((r) => setTimeout(r, 100));
  }
}
