/**
 * start, scale, heal and the start after a restore: a convergence plan (from
 * what runs now to `count` healthy routed instances of the release) run
 * through the one planned path, like a rollout.
 */
import type { DeploymentKind, ReleaseRecord } from '../store/index.js';
import { fallbackFor, type Fallback } from './compensation.js';
import type { EngineContext } from './context.js';
import { resolveHealth } from './health.js';
import { observeForPlan } from './observe.js';
import { planConverge } from './plan-converge.js';
import type { Step } from './plan.js';
import { newInstanceId } from './release-id.js';
import { runPlanned } from './run-plan.js';
import { releaseManifestOf } from './stored.js';
import { batchPolicy, inBatches, planNodes } from './nodes.js';
import type { TargetRuntime } from './target.js';
import type { DeployResult, Opened, ReconcileReport } from './types.js';

/** The steps that bring `rel` to `count` healthy routed instances (on every node, in batches), then record it as current. */
export async function convergeSteps(engine: EngineContext, o: Opened, rel: ReleaseRecord, count: number): Promise<Step[]> {
  const health = resolveHealth(releaseManifestOf(rel).health);
  const onePlace = async (runtime: TargetRuntime): Promise<Step[]> => planConverge({ release: rel.id, count, observed: await observeForPlan(runtime, health), newInstanceId: (i) => newInstanceId(rel.id, i), exclusive: o.manifest.exclusive ?? false });
  const nodes = await planNodes(engine, o);
  const steps = nodes ? await inBatches(nodes, batchPolicy(o.manifest.strategy, nodes.length), (n) => onePlace(n.runtime)) : await onePlace(o.runtime);
  return [...steps, { kind: 'record', release: rel.id }];
}

export function converge(engine: EngineContext, o: Opened, spec: { kind: DeploymentKind; rel: ReleaseRecord; count: number; reconciled: ReconcileReport[]; headline: string; reason?: string; fallback?: Fallback }): Promise<DeployResult> {
  return runPlanned(engine, o, {
    kind: spec.kind,
    releaseId: spec.rel.id,
    previous: spec.rel.id,
    existing: spec.rel,
    count: spec.count,
    reconciled: spec.reconciled,
    headline: spec.headline,
    reason: spec.reason,
    rollout: false,
    fallback: spec.fallback ?? fallbackFor(o, { kind: spec.kind, release: spec.rel.id, previousRelease: spec.rel.id }),
    plan: () => convergeSteps(engine, o, spec.rel, spec.count),
  });
}
