/**
 * Where a failed, aborted or interrupted plan goes back to, and the plan that
 * takes it there: a convergence on the fallback release, or a shutdown when
 * there is nothing to go back to. It is appended to the deployment's stored
 * steps after a `compensate` marker, so a crash inside it is seen and redone.
 */
import type { DeploymentRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { resolveHealth } from './health.js';
import { observeForPlan } from './observe.js';
import { planConverge } from './plan-converge.js';
import type { Step } from './plan.js';
import { newInstanceId } from './release-id.js';
import { releaseManifestOf } from './stored.js';
import { inBatches, planNodes } from './nodes.js';
import type { TargetRuntime } from './target.js';
import type { Opened } from './types.js';

/** `release` × `count`; no release: nothing runs. `count: 'serving'` keeps just the healthy instances of the release that run now. */
export interface Fallback {
  release?: string;
  count: number | 'serving';
}

/** The fallback of a deployment of this kind, from the target's recorded (desired) state. */
export function fallbackFor(o: Opened, d: Pick<DeploymentRecord, 'kind' | 'release' | 'previousRelease'>): Fallback {
  if (o.record.desiredState === 'stopped' && d.kind !== 'start') return { count: 0 };
  if (d.kind === 'start' || d.kind === 'scale') return { release: d.release, count: d.kind === 'scale' ? o.record.instances : 'serving' };
  const previous = d.previousRelease ?? (d.kind === 'deploy' ? undefined : o.record.currentRelease);
  return previous ? { release: previous, count: o.record.instances } : { count: 0 };
}

/** One place's compensation (the target's, or one node's), planned from what runs there now. */
export async function placeCompensation(engine: EngineContext, o: Opened, runtime: TargetRuntime, fallback: Fallback): Promise<{ steps: Step[]; release?: string; count: number }> {
  const rel = fallback.release ? engine.store.getRelease(o.app, o.name, fallback.release) : undefined;
  if (!rel || rel.deleted) return { steps: [{ kind: 'shutdown' }], count: 0 };
  const observed = await observeForPlan(runtime, resolveHealth(releaseManifestOf(rel).health));
  const count = fallback.count === 'serving' ? observed.filter((i) => i.release === rel.id && i.healthy).length : fallback.count;
  return { steps: planConverge({ release: rel.id, count, observed, newInstanceId: (i) => newInstanceId(rel.id, i), exclusive: o.manifest.exclusive ?? false }), release: rel.id, count };
}

/** The compensating steps after their marker; on a many-node target every node goes back at once (one batch, failures tolerated: as much as can go back does). */
export async function compensationSteps(engine: EngineContext, o: Opened, fallback: Fallback, reason: string): Promise<Step[]> {
  const nodes = await planNodes(engine, o);
  if (!nodes) {
    const c = await placeCompensation(engine, o, o.runtime, fallback);
    return [{ kind: 'compensate', release: c.release, count: c.count, reason }, ...c.steps];
  }
  let count = 0;
  let release: string | undefined;
  const all = { size: nodes.length, parallel: nodes.length, maxFailed: nodes.length, nodeTimeoutMs: o.manifest.strategy.node_timeout };
  const steps = await inBatches(nodes, all, async (n) => {
    let c: Awaited<ReturnType<typeof placeCompensation>>;
    try {
      c = await placeCompensation(engine, o, n.runtime, fallback);
    } catch (err) {
      // A node that cannot be read now (a host cut off) cannot be taken back either: the
      // others go back without it, and it is named; the next deploy or start converges it.
      engine.emit({ app: o.app, target: o.name }, 'warn', `node ${n.name} cannot go back now: ${(err as Error).message}`, 'rollback', { node: n.name });
      return [];
    }
    count = Math.max(count, c.count);
    release = c.release;
    return c.steps;
  });
  return [{ kind: 'compensate', release, count, reason }, ...steps];
}
