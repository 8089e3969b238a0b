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

/** The compensating steps, planned from what runs now. */
export async function compensationSteps(engine: EngineContext, o: Opened, fallback: Fallback, reason: string): Promise<Step[]> {
  const rel = fallback.release ? engine.store.getRelease(o.app, o.name, fallback.release) : undefined;
  if (!rel || rel.deleted) return [{ kind: 'compensate', count: 0, reason }, { kind: 'shutdown' }];
  const observed = await observeForPlan(o, resolveHealth(releaseManifestOf(rel).health));
  const count = fallback.count === 'serving' ? observed.filter((i) => i.release === rel.id && i.healthy).length : fallback.count;
  return [
    { kind: 'compensate', release: rel.id, count, reason },
    ...planConverge({ release: rel.id, count, observed, newInstanceId: (i) => newInstanceId(rel.id, i), exclusive: o.manifest.exclusive ?? false }),
  ];
}
