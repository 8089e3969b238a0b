/**
 * `gantry stop --host`: per-node desired state. The named nodes are recorded as
 * held before anything stops, so every later plan (deploy, heal, scale,
 * restart, a compensation, a resumed plan) leaves them out and `status` says
 * they were stopped; `gantry start --host` (or a plain `start`) releases them.
 * Each named node stops like `gantry stop` there: instances drained and
 * stopped, its access point too; the other nodes keep serving.
 */
import type { EngineContext } from './context.js';
import { inBatches, planNodes } from './nodes.js';
import { runPlanned } from './run-plan.js';
import type { Step } from './plan.js';
import type { DeployResult, Opened, ReconcileReport } from './types.js';

export async function stopHosts(engine: EngineContext, o: Opened, reconciled: ReconcileReport[]): Promise<DeployResult> {
  const hosts = o.hosts!;
  engine.store.updateTarget(o.app, o.name, { heldNodes: [...new Set([...o.record.heldNodes, ...hosts])] });
  o.record = engine.store.getTarget(o.app, o.name)!;
  engine.emit({ app: o.app, target: o.name }, 'info', `${hosts.join(', ')} held stopped: deploys, heals and scaling leave ${hosts.length === 1 ? 'it' : 'them'} out until \`gantry start --host\``, 'plan', { held: o.record.heldNodes });
  const nodes = (await planNodes(engine, o))!;
  return runStopPlan(engine, o, reconciled, {
    headline: `stopping ${o.app} on ${hosts.join(', ')} (every instance and the node's access point; the other nodes keep serving)`,
    plan: () => inBatches(nodes, { size: nodes.length, parallel: nodes.length, maxFailed: 0, nodeTimeoutMs: o.manifest.strategy.node_timeout }, async () => [{ kind: 'shutdown' }]),
  });
}

/**
 * A stop's plan, of every node (`gantry stop`) or of some (above): the current release stays
 * current with no instance; no router is needed. A node that fails to stop is stopped again on
 * its own (the fallback); the plan then fails, naming it.
 */
export function runStopPlan(engine: EngineContext, o: Opened, reconciled: ReconcileReport[], what: { headline: string; plan: () => Promise<Step[]> }): Promise<DeployResult> {
  return runPlanned(engine, o, {
    kind: 'stop',
    releaseId: o.record.currentRelease ?? '',
    previous: o.record.currentRelease,
    count: 0,
    reconciled,
    headline: what.headline,
    needsRouter: false,
    rollout: false,
    fallback: { count: 0 },
    plan: what.plan,
  });
}
