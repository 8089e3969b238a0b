/** rollback, restart, start and stop of the current release. */
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { converge } from './converge.js';
import { currentRelease, lastKnownGood } from './releases.js';
import { rollout } from './rollout.js';
import type { DeployResult } from './types.js';
import { runPlanned } from './run-plan.js';
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
    engine.store.updateTarget(o.app, o.name, { desiredState: 'running' });
    const n = o.record.instances;
    return converge(engine, o, { kind: 'start', rel, count: n, reconciled, headline: `start ${o.app} release ${rel.id} on ${o.name} (${n} instance${n === 1 ? '' : 's'})` });
  });
}

export async function stop(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'stop', opts.wait ?? false, async (o, reconciled) => {
    engine.store.updateTarget(o.app, o.name, { desiredState: 'stopped' });
    return runPlanned(engine, o, {
      kind: 'stop',
      releaseId: o.record.currentRelease ?? '',
      previous: o.record.currentRelease,
      count: 0,
      reconciled,
      headline: 'stopping all instances and the proxy',
      needsRouter: false,
      rollout: false,
      fallback: { count: 0 },
      plan: async () => [{ kind: 'shutdown' }],
    });
  });
}
