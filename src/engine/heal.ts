/** A deploy of the release that already is current while not all of its instances serve: start what is missing. */
import type { ReleaseRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { ensureServing } from './converge.js';
import { HealthGateError } from './executors.js';
import { resolveHealth } from './health.js';
import { releaseManifestOf } from './stored.js';
import type { DeployResult, Opened, ReconcileReport } from './types.js';
import { newDeploymentId, toGantryError } from './util.js';

/** Routed instances of rel that run and answer their health check. */
export async function servingCount(o: Opened, rel: ReleaseRecord): Promise<number> {
  const routed = new Set((await o.runtime.routes()).filter((r) => r.release === rel.id).map((r) => r.instance));
  const health = resolveHealth(releaseManifestOf(rel).health);
  let n = 0;
  for (const i of await o.runtime.instances()) if (routed.has(i.id) && i.state === 'running' && (await o.runtime.probe(i, health)).ok) n++;
  return n;
}

/** Start the missing instances of the current release, health-gated, recorded as a deploy with reason "healed". */
export async function heal(engine: EngineContext, o: Opened, rel: ReleaseRecord, serving: number, reconciled: ReconcileReport[]): Promise<DeployResult> {
  const started = Date.now();
  const d = engine.store.insertDeployment({ id: newDeploymentId(), app: o.app, target: o.name, targetType: o.target.type, kind: 'deploy', actor: engine.opts.actor, release: rel.id, previousRelease: rel.id });
  engine.emit({ app: o.app, target: o.name, deploymentId: d.id }, 'info', `release ${rel.id} is current but only ${serving} of ${o.record.instances} instance(s) serve: starting the missing ones`, 'plan');
  try {
    await ensureServing(engine, o, rel, o.record.instances, d.id);
    const url = await o.runtime.accessUrl();
    const reason = `healed: ${o.record.instances - serving} instance(s) of ${rel.id} started again`;
    engine.store.updateDeployment(d.id, { status: 'succeeded', reason, accessUrl: url });
    return { id: d.id, app: o.app, target: o.name, kind: 'deploy', release: rel.id, status: 'succeeded', url, duration_ms: Date.now() - started, reason, reconciled: reconciled.length ? reconciled : undefined };
  } catch (err) {
    const e = toGantryError(err);
    engine.store.updateDeployment(d.id, { status: 'failed', reason: e.message });
    return { id: d.id, app: o.app, target: o.name, kind: 'deploy', release: rel.id, status: 'failed', duration_ms: Date.now() - started, reason: e.message, error: e.toJSON(), logs: err instanceof HealthGateError ? err.logTail : undefined };
  }
}
