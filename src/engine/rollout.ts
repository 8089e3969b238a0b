/** A rollout (deploy, rollback, restart): the strategy's steps between what serves now and the new release, run through the one planned path. */
import type { DeploymentRecord, ReleaseRecord } from '../store/index.js';
import { fallbackFor } from './compensation.js';
import type { EngineContext } from './context.js';
import { planRollout, type Step } from './plan.js';
import { batchPolicy, inBatches, planNodes } from './nodes.js';
import { newInstanceId } from './release-id.js';
import { runPlanned } from './run-plan.js';
import type { DeployResult, Opened, ReconcileReport } from './types.js';

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

/**
 * Every step a rollout records, hooks included: `gantry plan` prints exactly
 * this list and the deploy that follows stores it (ids aside: a release id
 * carries its time, an instance id a nonce).
 */
export async function deploymentSteps(engine: EngineContext, o: Opened, spec: { kind: DeploymentRecord['kind']; releaseId: string; count: number; build: boolean }): Promise<Step[]> {
  const hooks = spec.kind === 'deploy' ? o.manifest.hooks : undefined;
  const nodes = await planNodes(engine, o);
  // Many nodes: each node's own rollout (from what it routes), in batches; one place: the rollout itself.
  const switchSteps = nodes
    ? await inBatches(nodes, batchPolicy(o.manifest.strategy, nodes.length), async (n) => [...(n.runtime.stage ? [{ kind: 'stage', release: spec.releaseId } as Step] : []), ...rolloutSteps(o, spec.releaseId, spec.count, await n.runtime.routes())])
    : rolloutSteps(o, spec.releaseId, spec.count, await o.runtime.routes());
  return [
    ...(spec.build ? [{ kind: 'build', release: spec.releaseId } as Step] : []),
    ...(hooks?.pre_deploy ? [{ kind: 'hook', name: 'pre_deploy' } as Step] : []),
    ...switchSteps,
    { kind: 'record', release: spec.releaseId },
    ...(hooks?.post_deploy ? [{ kind: 'hook', name: 'post_deploy' } as Step] : []),
  ];
}

export async function rollout(
  engine: EngineContext,
  o: Opened,
  spec: { kind: DeploymentRecord['kind']; releaseId: string; count: number; reconciled: ReconcileReport[]; build?: () => Promise<ReleaseRecord>; existing?: ReleaseRecord; signal?: AbortSignal },
): Promise<DeployResult> {
  const previous = o.record.currentRelease;
  const mode = o.manifest.exclusive ? 'exclusive' : o.manifest.strategy.type;
  const headline = `${spec.kind} ${o.app} release ${spec.releaseId} to ${o.name}${o.hosts ? ` on ${o.hosts.join(', ')} only` : ''} (${o.target.type}, ${mode}, ${spec.count} instance${spec.count === 1 ? '' : 's'})`;
  if (o.manifest.exclusive) engine.emit({ app: o.app, target: o.name }, 'info', 'exclusive: the old release stops (after draining) before the new one starts; new requests are held meanwhile', 'plan');
  const result = await runPlanned(engine, o, {
    ...spec,
    previous,
    headline,
    rollout: true,
    fallback: fallbackFor(o, { kind: spec.kind, release: spec.releaseId, previousRelease: previous }),
    plan: () => deploymentSteps(engine, o, { kind: spec.kind, releaseId: spec.releaseId, count: spec.count, build: Boolean(spec.build) }),
  });
  const version = engine.store.getRelease(o.app, o.name, spec.releaseId)?.version;
  return version ? { ...result, version: `v${version}` } : result;
}
