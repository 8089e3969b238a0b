/** A deploy of the release that already is current while not all of its instances serve: start what is missing. */
import type { ReleaseRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { converge } from './converge.js';
import { resolveHealth } from './health.js';
import { releaseManifestOf } from './stored.js';
import type { DeployResult, Opened, ReconcileReport } from './types.js';

/** Routed instances of rel that run and answer their health check. */
export async function servingCount(o: Opened, rel: ReleaseRecord): Promise<number> {
  const routed = new Set((await o.runtime.routes()).filter((r) => r.release === rel.id).map((r) => r.instance));
  const health = resolveHealth(releaseManifestOf(rel).health);
  let n = 0;
  for (const i of await o.runtime.instances()) if (routed.has(i.id) && i.state === 'running' && (await o.runtime.probe(i, health)).ok) n++;
  return n;
}

/** Start the missing instances of the current release, health-gated, recorded as a deploy with reason "healed". */
export function heal(engine: EngineContext, o: Opened, rel: ReleaseRecord, serving: number, expected: number, reconciled: ReconcileReport[]): Promise<DeployResult> {
  const n = o.record.instances;
  engine.emit({ app: o.app, target: o.name }, 'info', `release ${rel.id} is current but only ${serving} of ${expected} instance(s) serve: starting the missing ones`, 'plan');
  return converge(engine, o, {
    kind: 'deploy',
    rel,
    count: n,
    reconciled,
    headline: `heal ${o.app} release ${rel.id} on ${o.name} (${n} instance${n === 1 ? '' : 's'})`,
    reason: `healed: ${expected - serving} instance(s) of ${rel.id} started again`,
    // A heal that fails keeps what still serves.
    fallback: { release: rel.id, count: 'serving' },
  });
}
