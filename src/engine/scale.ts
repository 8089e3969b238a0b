/** Scaling: `gantry scale` and one tick of the autoscaler. */
import { DEFAULTS } from '../core/defaults.js';
import { GantryError, isGantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import { cpuPercentBetween, decideScale, type LoadSample, type ScaleDecision } from './autoscale.js';
import type { EngineContext } from './context.js';
import { converge } from './converge.js';
import { refuseHosts, type HostOption } from './hosts.js';
import { open } from './open.js';
import { currentRelease } from './releases.js';
import type { AutoscaleState, DeployResult } from './types.js';
import { withTarget } from './with-target.js';

/**
 * Change the instance count of the current release, no new release: new
 * instances join the proxy only once healthy, removed ones are drained first.
 * The count is desired state: later deploys keep it until the manifest's
 * run.instances changes (see formation.ts). 0 stops every instance while the
 * app stays "running" (the proxy stays up, nothing is routed), unlike `stop`.
 */
export async function scale(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, count: number, opts: { wait?: boolean; reason?: string } & HostOption = {}): Promise<DeployResult & { from: number; to: number }> {
  refuseHosts('scale', opts.hosts);
  if (!Number.isInteger(count) || count < 0 || count > DEFAULTS.run.maxInstances) throw new GantryError('USAGE', `cannot scale to ${count}`, `give a whole number of instances from 0 to ${DEFAULTS.run.maxInstances} (0 stops every instance, keeping the app deployed; \`gantry stop\` also stops the proxy)`);
  return withTarget(engine, loaded, targetName, 'scale', opts.wait ?? false, async (o, reconciled) => {
    const rel = currentRelease(engine, o);
    if (o.record.desiredState === 'stopped') throw new GantryError('USAGE', `${o.app} is stopped on ${o.name}`, '`gantry start` it first; scaling a stopped app would start it behind your back');
    const from = o.record.instances;
    const reason = opts.reason ?? 'requested';
    engine.emit({ app: o.app, target: o.name }, 'info', `scale ${from} → ${count} instance(s) of ${rel.id} (${reason})`, 'scale', { from, to: count, reason });
    const r = await converge(engine, o, { kind: 'scale', rel, count, reconciled, reason, headline: `scale ${o.app} on ${o.name}: ${from} → ${count} instance(s) of ${rel.id}`, fallback: { release: rel.id, count: from } });
    if (r.status === 'succeeded') {
      // Remember what the manifest said: the scaled count holds for later deploys until that value changes.
      // Scaling to the manifest's own value hands the count back to the manifest.
      const manifestCount = o.manifest.run.instances;
      engine.store.updateTarget(o.app, o.name, { scaledFromManifest: count === manifestCount ? undefined : manifestCount });
      engine.store.audit(engine.opts.actor, 'scale', o.app, o.name, { from, to: count, reason });
    }
    return { ...r, from, to: count };
  });
}

/**
 * One autoscaler tick: sample CPU (two readings make a rate) and in-flight
 * requests, decide within [min, max] and the cooldown, and scale through the
 * same health-gated path as `gantry scale`. A face runs this in a loop.
 */
export async function autoscaleTick(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, state: AutoscaleState): Promise<{ action: 'none' | 'scaled' | 'busy' | 'stop' | 'failed'; load?: LoadSample; decision?: ScaleDecision; reason?: string }> {
  const a = loaded.manifest.autoscale;
  if (!a) return { action: 'stop', reason: 'the manifest has no autoscale' };
  const o = await open(engine, loaded, targetName);
  let load: LoadSample;
  let decision: ScaleDecision | undefined;
  try {
    if (o.record.desiredState === 'stopped' || !o.record.currentRelease) return { action: 'stop', reason: 'the app is stopped or not deployed' };
    // Scaled to 0 by hand: the autoscaler does not bring it back (`gantry scale N` does).
    if (o.record.instances === 0) return { action: 'none', reason: 'scaled to 0' };
    const now = Date.now();
    const cpu = await o.runtime.instanceCpuSeconds();
    let cpuPercent: number | undefined;
    if (state.lastCpu) {
      const rates = Object.keys(cpu)
        .filter((id) => id in state.lastCpu!.seconds)
        .map((id) => cpuPercentBetween(state.lastCpu!.seconds[id]!, cpu[id]!, now - state.lastCpu!.at));
      if (rates.length) cpuPercent = rates.reduce((x, y) => x + y, 0) / rates.length;
    }
    state.lastCpu = { at: now, seconds: cpu };
    const routed = new Set((await o.runtime.routes()).map((r) => r.instance));
    const inflightRows = ((await o.runtime.trafficStats()) as { backends?: Array<{ id: string; inflight: number }> } | undefined)?.backends?.filter((b) => routed.has(b.id)) ?? [];
    const inflight = inflightRows.length ? inflightRows.reduce((x, b) => x + b.inflight, 0) / inflightRows.length : undefined;
    load = { cpuPercent, inflight };
    decision = decideScale(o.record.instances, load, { min: a.min, max: a.max, cpuPercent: a.cpu_percent, concurrency: a.concurrency, cooldownMs: a.cooldown }, now - state.lastChangeAt);
    if (!decision) return { action: 'none', load };
  } finally {
    await o.runtime.close();
  }
  try {
    const r = await scale(engine, loaded, targetName, decision.desired, { reason: `autoscale: ${decision.reason}` });
    state.lastChangeAt = Date.now();
    state.lastCpu = undefined;
    return { action: r.status === 'succeeded' ? 'scaled' : 'failed', load, decision, reason: r.reason };
  } catch (err) {
    if (isGantryError(err) && err.code === 'LOCK_HELD') return { action: 'busy', load, decision, reason: err.message };
    throw err;
  }
}
