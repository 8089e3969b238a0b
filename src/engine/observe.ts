/** What runs now on one runtime, as planners see it: every instance with its release, whether it is routed and whether it answers its health check. */
import type { HealthSpec } from './health.js';
import type { ObservedForPlan } from './plan-converge.js';
import type { TargetRuntime } from './target.js';

export async function observeForPlan(runtime: TargetRuntime, health: HealthSpec): Promise<ObservedForPlan[]> {
  const routed = new Set((await runtime.routes()).map((r) => r.instance));
  const out: ObservedForPlan[] = [];
  for (const i of await runtime.instances()) {
    if (i.state === 'stopped') continue;
    const healthy = i.state === 'running' && (await runtime.probe(i, health)).ok;
    out.push({ instance: i.id, release: i.release, healthy, routed: routed.has(i.id) });
  }
  return out;
}
