/** rollback, restart, start and stop of the current release. */
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { ensureServing } from './converge.js';
import { HealthGateError } from './executors.js';
import { currentRelease, lastKnownGood } from './releases.js';
import { rollout } from './rollout.js';
import type { DeployResult } from './types.js';
import { newDeploymentId, toGantryError } from './util.js';
import { withTarget } from './with-target.js';

export async function rollback(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, releaseId: string | undefined, opts: { wait?: boolean; signal?: AbortSignal } = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'rollback', opts.wait ?? false, async (o, reconciled) => {
    const rel = releaseId ? engine.store.getRelease(o.app, o.name, releaseId) : lastKnownGood(engine, o);
    if (!rel || rel.deleted) {
      throw new GantryError('RELEASE_NOT_FOUND', releaseId ? `release ${releaseId} is not kept for ${o.app} on ${o.name}` : `there is no earlier known-good release of ${o.app} on ${o.name} to roll back to`, 'list the kept releases with `gantry releases`');
    }
    return rollout(engine, o, { kind: 'rollback', releaseId: rel.id, count: o.record.instances, reconciled, existing: rel, signal: opts.signal });
  });
}

export async function restart(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean; signal?: AbortSignal } = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'restart', opts.wait ?? false, async (o, reconciled) => {
    const rel = currentRelease(engine, o);
    // A restart replaces every instance with a fresh one of the same release, health-gated like a deploy.
    return rollout(engine, o, { kind: 'restart', releaseId: rel.id, count: o.record.instances, reconciled, existing: rel, signal: opts.signal });
  });
}

export async function start(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'start', opts.wait ?? false, async (o, reconciled) => {
    const rel = currentRelease(engine, o);
    const started = Date.now();
    const d = engine.store.insertDeployment({ id: newDeploymentId(), app: o.app, target: o.name, targetType: o.target.type, kind: 'start', actor: engine.opts.actor, release: rel.id, previousRelease: rel.id });
    engine.store.updateTarget(o.app, o.name, { desiredState: 'running' });
    try {
      await ensureServing(engine, o, rel, o.record.instances, d.id);
      const url = await o.runtime.accessUrl();
      engine.store.updateDeployment(d.id, { status: 'succeeded', accessUrl: url });
      return { id: d.id, app: o.app, target: o.name, kind: 'start', release: rel.id, status: 'succeeded', url, duration_ms: Date.now() - started, reconciled };
    } catch (err) {
      const e = toGantryError(err);
      engine.store.updateDeployment(d.id, { status: 'failed', reason: e.message });
      return { id: d.id, app: o.app, target: o.name, kind: 'start', release: rel.id, status: 'failed', duration_ms: Date.now() - started, reason: e.message, error: e.toJSON(), logs: err instanceof HealthGateError ? err.logTail : undefined };
    }
  });
}

export async function stop(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'stop', opts.wait ?? false, async (o, reconciled) => {
    const started = Date.now();
    const d = engine.store.insertDeployment({ id: newDeploymentId(), app: o.app, target: o.name, targetType: o.target.type, kind: 'stop', actor: engine.opts.actor, release: o.record.currentRelease });
    engine.store.updateTarget(o.app, o.name, { desiredState: 'stopped' });
    engine.emit({ app: o.app, target: o.name, deploymentId: d.id }, 'info', 'stopping all instances and the proxy');
    await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
    engine.store.updateDeployment(d.id, { status: 'succeeded' });
    return { id: d.id, app: o.app, target: o.name, kind: 'stop', release: o.record.currentRelease, status: 'succeeded', duration_ms: Date.now() - started, reconciled };
  });
}
