/** Imperative convergence: bring a release to N healthy routed instances, and restore after a failed rollout. */
import { GantryError } from '../core/errors.js';
import type { ReleaseRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { resolveHealth } from './health.js';
import { newInstanceId } from './release-id.js';
import { appEnv } from './release-secrets.js';
import { releaseRef } from './releases.js';
import { releaseManifestOf } from './stored.js';
import type { InstanceHandle, ObservedInstance, Route } from './target.js';
import type { Opened } from './types.js';
import { routerOptions } from './util.js';

/**
 * After a failed rollout: the previous release serves again with its full
 * instance count and every instance of the failed release is stopped.
 */
export async function restoreAfterFailure(engine: EngineContext, o: Opened, previous: string | undefined, failed: string, deploymentId: string, routedBefore: Route[]): Promise<boolean> {
  const prev = previous ? engine.store.getRelease(o.app, o.name, previous) : undefined;
  if (o.record.desiredState === 'stopped') {
    // The app was stopped before this attempt: it stays stopped.
    await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
    return false;
  }
  if (prev && previous !== failed) {
    await ensureServing(engine, o, prev, o.record.instances, deploymentId);
    return true;
  }
  // Same release (restart, rollback to the current one): put back the instances that served before, if they still run.
  const running = new Set((await o.runtime.instances()).filter((i) => i.state === 'running').map((i) => i.id));
  if (routedBefore.length && routedBefore.every((r) => running.has(r.instance))) {
    await o.runtime.setRoutes(routedBefore);
    const keep = new Set(routedBefore.map((r) => r.instance));
    const others = [...running].filter((id) => !keep.has(id));
    await o.runtime.drain(others, o.manifest.strategy.drain_timeout);
    for (const id of others) await o.runtime.stopInstance(id, o.manifest.strategy.stop_timeout);
    return true;
  }
  // First deploy failed: nothing earlier to go back to.
  const routed = new Set((await o.runtime.routes()).map((r) => r.instance));
  if (routed.size === 0) {
    // Nothing ever served: leave nothing running (no proxy answering 503 forever).
    await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
    return false;
  }
  for (const i of await o.runtime.instances()) if (!routed.has(i.id) && i.release === failed) await o.runtime.stopInstance(i.id, o.manifest.strategy.stop_timeout);
  return false;
}

/**
 * Converge on `rel` serving with `count` healthy routed instances and nothing
 * else running: keep healthy instances of it, start what is missing
 * (health-gated), route, then drain and stop everything else.
 */
export async function ensureServing(engine: EngineContext, o: Opened, rel: ReleaseRecord, count: number, deploymentId?: string): Promise<void> {
  const where = { app: o.app, target: o.name, deploymentId };
  await o.runtime.ensureRouter(routerOptions(o.manifest));
  const health = resolveHealth(releaseManifestOf(rel).health);
  const observed = await o.runtime.instances();
  const keep: ObservedInstance[] = [];
  for (const i of observed) {
    if (keep.length >= count || i.release !== rel.id || i.state === 'stopped' || i.state === 'stopping') continue;
    if ((await o.runtime.probe(i, health)).ok) keep.push(i);
  }
  const ref = await releaseRef(engine, rel);
  const started: InstanceHandle[] = [];
  const stopTimeout = o.manifest.strategy.stop_timeout;
  for (let idx = keep.length; idx < count; idx++) {
    const id = newInstanceId(rel.id, idx);
    engine.emit(where, 'info', `start instance ${id} of ${rel.id}`, 'startInstance');
    try {
      const h = await o.runtime.startInstance({ id, index: idx, release: ref, env: appEnv(o, ref, id), secretEnv: ref.secretEnv });
      started.push(h);
      const r = await o.runtime.waitHealthy(h, health);
      if (!r.ok) throw new GantryError('HEALTH_FAILED', `instance ${id} of ${rel.id} did not become healthy: ${r.detail}`, 'see `gantry logs`');
    } catch (err) {
      // Nothing half-started stays behind (the supervisor would keep restarting it, unrouted).
      for (const h of started) await o.runtime.stopInstance(h.id, stopTimeout).catch(() => undefined);
      await o.runtime.stopInstance(id, stopTimeout).catch(() => undefined);
      throw err;
    }
  }
  const serving = [...keep, ...started];
  await o.runtime.setRoutes(serving.map((h) => ({ instance: h.id, release: rel.id, url: `http://${h.endpoint.host}:${h.endpoint.port}`, weight: 1 })));
  const servingIds = new Set(serving.map((h) => h.id));
  const others = (await o.runtime.instances()).filter((i) => !servingIds.has(i.id));
  if (others.length) {
    await o.runtime.drain(others.map((i) => i.id), o.manifest.strategy.drain_timeout);
    for (const i of others) await o.runtime.stopInstance(i.id, o.manifest.strategy.stop_timeout);
  }
  await o.runtime.markCurrent(ref);
}
