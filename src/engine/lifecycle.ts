/** rollback, restart, start and stop of the current release (restart, start and stop also on some nodes: `--host`). */
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { converge } from './converge.js';
import { refuseHosts, selectHosts, type HostOption } from './hosts.js';
import { openNodes } from './nodes.js';
import { currentRelease, findRelease, lastKnownGood } from './releases.js';
import { describeChanges, rollbackChanges, withCurrentSecrets } from './rollback-changes.js';
import { rollout } from './rollout.js';
import { runStopPlan, stopHosts } from './stop-hosts.js';
import type { DeployResult, Opened, ReleaseSecrets } from './types.js';
import { withTarget } from './with-target.js';

export async function rollback(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, releaseId: string | undefined, opts: { wait?: boolean; signal?: AbortSignal; keepSecrets?: boolean } & HostOption = {}): Promise<DeployResult> {
  refuseHosts('rollback', opts.hosts);
  return withTarget(engine, loaded, targetName, 'rollback', opts.wait ?? false, async (o, reconciled) => {
    const rel = releaseId ? findRelease(engine, o, releaseId) : lastKnownGood(engine, o);
    if (!rel || rel.deleted) {
      throw new GantryError('RELEASE_NOT_FOUND', `there is no earlier known-good release of ${o.app} on ${o.name} to roll back to`, 'list the kept releases with `gantry releases`');
    }
    if (rel.id === o.record.currentRelease && o.record.desiredState === 'running') {
      // Already there: say so and change nothing (a stopped target is started by `gantry start`).
      engine.emit({ app: o.app, target: o.name }, 'info', `release v${rel.version} (${rel.id}) is already the current release: nothing to roll back`, 'plan');
      return { id: '', app: o.app, target: o.name, kind: 'rollback', release: rel.id, version: `v${rel.version}`, status: 'succeeded', unchanged: true, url: await o.runtime.accessUrl(), duration_ms: 0, reason: 'already the current release', reconciled: reconciled.length ? reconciled : undefined };
    }
    const current = o.record.currentRelease ? engine.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
    let target = rel;
    let kept: ReleaseSecrets | undefined;
    if (opts.keepSecrets) ({ release: target, secrets: kept } = await withCurrentSecrets(engine, o, rel));
    // Say what goes back before anything changes: the code, env keys, secret versions.
    const reverts = await rollbackChanges(engine, o, current, rel, kept);
    for (const line of describeChanges(reverts)) engine.emit({ app: o.app, target: o.name }, 'info', `rollback reverts ${line}`, 'plan');
    const result = await rollout(engine, o, { kind: 'rollback', releaseId: target.id, count: o.record.instances, reconciled, existing: target, signal: opts.signal });
    return { ...result, reverts };
  });
}

/** `--host` naming only some of the nodes (all of them is the plain operation). */
async function someNodes(engine: EngineContext, o: Opened, hosts: string[] | undefined): Promise<boolean> {
  await selectHosts(engine, o, hosts);
  const all = await openNodes(engine, o);
  if (o.hosts && all && o.hosts.length < all.length) return true;
  o.hosts = undefined;
  return false;
}

export async function restart(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean; signal?: AbortSignal } & HostOption = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'restart', opts.wait ?? false, async (o, reconciled) => {
    const rel = currentRelease(engine, o);
    if (await someNodes(engine, o, opts.hosts)) {
      const held = o.hosts!.filter((h) => o.record.heldNodes.includes(h));
      if (held.length) throw new GantryError('USAGE', `${held.join(', ')} ${held.length === 1 ? 'was' : 'were'} stopped with \`gantry stop --host\`: nothing runs there to restart`, `\`gantry start --host ${held.join(',')}\` starts ${held.length === 1 ? 'it' : 'them'} again`);
    }
    // A restart replaces every instance (of the chosen nodes) with a fresh one of the same release, health-gated like a deploy.
    return rollout(engine, o, { kind: 'restart', releaseId: rel.id, count: o.record.instances, reconciled, existing: rel, signal: opts.signal });
  });
}

/**
 * Start the current release again. With `--host`: only those nodes, which stop
 * being held (when the whole target was stopped, the other nodes stay stopped,
 * held); without: every node, and nothing stays held.
 */
export async function start(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } & HostOption = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'start', opts.wait ?? false, async (o, reconciled) => {
    const rel = currentRelease(engine, o);
    let heldNodes: string[] = [];
    if (await someNodes(engine, o, opts.hosts)) {
      const others = o.record.desiredState === 'stopped' ? (await openNodes(engine, o))!.map((n) => n.name) : o.record.heldNodes;
      heldNodes = others.filter((n) => !o.hosts!.includes(n));
    }
    engine.store.updateTarget(o.app, o.name, { desiredState: 'running', heldNodes });
    o.record = engine.store.getTarget(o.app, o.name)!;
    const n = o.record.instances;
    const where = o.hosts ? ` on ${o.hosts.join(', ')}` : '';
    return converge(engine, o, { kind: 'start', rel, count: n, reconciled, headline: `start ${o.app} release ${rel.id} on ${o.name}${where} (${n} instance${n === 1 ? '' : 's'}${o.hosts ? ' per node' : ''})` });
  });
}

/** Stop everything, or with `--host` only those nodes (held: later commands leave them stopped; see stop-hosts.ts). */
export async function stop(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } & HostOption = {}): Promise<DeployResult> {
  return withTarget(engine, loaded, targetName, 'stop', opts.wait ?? false, async (o, reconciled) => {
    if (await someNodes(engine, o, opts.hosts)) return stopHosts(engine, o, reconciled);
    engine.store.updateTarget(o.app, o.name, { desiredState: 'stopped', heldNodes: [] });
    return runStopPlan(engine, o, reconciled, { headline: 'stopping all instances and the proxy', plan: async () => [{ kind: 'shutdown' }] });
  });
}
