/** `gantry status`: desired vs observed state of each target, reconciling interrupted work first when the lock is free. */
import { selectHosts, type HostOption } from './hosts.js';
import { openNodes } from './nodes.js';
import { isGantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { resolveHealth } from './health.js';
import { open, resolveTargetName, targetNames } from './open.js';
import { reconcileIfFree } from './reconcile.js';
import { currentSecrets } from './release-secrets.js';
import { releaseManifestOf } from './stored.js';
import type { TargetRecord } from '../store/index.js';
import type { InstanceStatus, NodeStatus, Opened, TargetStatus } from './types.js';
import { DEFAULTS } from '../core/defaults.js';
import { sleep } from './abort.js';
import { rolloutPhase } from './rollout-phase.js';
import type { TargetRuntime } from './target.js';

/** Per running instance: CPU % over a short window (two readings of its CPU seconds) and resident memory. */
async function usage(runtime: TargetRuntime, running: number): Promise<{ cpu: Record<string, number>; rss: Record<string, number> }> {
  if (running === 0) return { cpu: {}, rss: {} };
  const t0 = Date.now();
  const first = await runtime.instanceCpuSeconds().catch(() => ({}) as Record<string, number>);
  await sleep(DEFAULTS.status.cpuSampleMs);
  const [second, rss] = await Promise.all([runtime.instanceCpuSeconds().catch(() => ({}) as Record<string, number>), runtime.instanceMemoryBytes?.().catch(() => ({})) ?? {}]);
  const secs = (Date.now() - t0) / 1000;
  const cpu: Record<string, number> = {};
  for (const [id, b] of Object.entries(second)) {
    const a = first[id];
    if (a !== undefined && b >= a) cpu[id] = Math.round(((b - a) / secs) * 1000) / 10;
  }
  return { cpu, rss };
}

/** Every target, or the one named; with `--host` (on the one named, or the first), only those nodes' instances and states. */
export async function status(engine: EngineContext, loaded: LoadedManifest, targetName?: string, opts: HostOption = {}): Promise<{ app: string; targets: TargetStatus[] }> {
  const names = targetName || opts.hosts?.length ? [resolveTargetName(loaded, targetName)] : targetNames(loaded);
  const targets: TargetStatus[] = [];
  for (const name of names) {
    const o = await open(engine, loaded, name);
    try {
      await selectHosts(engine, o, opts.hosts);
      targets.push(await targetStatus(engine, o));
    } finally {
      await o.runtime.close();
    }
  }
  return { app: loaded.manifest.app, targets };
}

export async function targetStatus(engine: EngineContext, o: Opened): Promise<TargetStatus> {
  const reconciled = await reconcileIfFree(engine, o);
  const record = o.record;
  const routes = await o.runtime.routes();
  const routedIds = new Set(routes.map((r) => r.instance));
  const rel = record.currentRelease ? engine.store.getRelease(o.app, o.name, record.currentRelease) : undefined;
  const health = resolveHealth(rel ? releaseManifestOf(rel).health : o.manifest.health);
  const instances: InstanceStatus[] = [];
  const observed = await o.runtime.instances();
  // Which nodes could not be read, as of the routes and instances just read (a later figure read may fail on its own).
  const unreachable = new Map(o.runtime.unreachableNodes?.() ?? []);
  // CPU takes two readings apart; while a rollout runs (its lock held) status answers at once instead,
  // so a watcher polling status sees each phase (the figures come back once it is done).
  const busy = engine.store.getLock(o.app, o.name) !== undefined;
  const used = busy ? { cpu: {} as Record<string, number>, rss: {} as Record<string, number> } : await usage(o.runtime, observed.filter((i) => i.state === 'running').length);
  for (const i of observed) {
    const p = i.state === 'running' || i.state === 'starting' ? await o.runtime.probe(i, health) : { ok: false, detail: i.state };
    const up = i.state === 'running' && i.startedAt ? Math.max(0, Math.floor((Date.now() - Date.parse(i.startedAt)) / 1000)) : undefined;
    instances.push({
      id: i.id,
      release: i.release,
      healthy: p.ok,
      routed: routedIds.has(i.id),
      url: `http://${i.endpoint.host}:${i.endpoint.port}`,
      state: i.state,
      pid: i.pid,
      restarts: i.restarts,
      started_at: i.startedAt,
      uptime_s: up !== undefined && Number.isFinite(up) ? up : undefined,
      cpu_percent: used.cpu[i.id],
      rss_bytes: used.rss[i.id],
      detail: p.ok ? undefined : p.detail,
      node: i.node,
    });
  }
  const serving = (i: InstanceStatus): boolean => i.healthy && i.routed && i.release === record.currentRelease;
  const healthyServing = instances.filter(serving).length;
  const nodeNames = (await openNodes(engine, o))?.map((n) => n.name);
  const activeNodes = nodeNames?.filter((n) => !record.heldNodes.includes(n));
  let missing: string[] = [];
  try {
    await currentSecrets(engine, o);
  } catch (err) {
    if (isGantryError(err) && err.code === 'SECRET_MISSING') missing = ((err.details as { missing?: string[] }) ?? {}).missing ?? [];
  }
  let state: TargetStatus['state'];
  if (!record.currentRelease) state = missing.length ? 'needs_secrets' : 'not_deployed';
  else if (record.desiredState === 'stopped') state = 'stopped';
  else if (activeNodes?.length === 0) state = 'stopped';
  else if (record.instances === 0) state = instances.some((i) => i.state !== 'stopped') ? 'degraded' : 'scaled_to_zero';
  // The count is per node: a many-node target runs it on each of its nodes (held ones aside).
  else if (healthyServing >= record.instances * (activeNodes?.length ?? 1)) state = 'running';
  // Meant to run but not fully serving (a dead agent, dead instances) is `degraded` on every target; `stopped` is only what was stopped.
  else state = 'degraded';
  const lock = engine.store.getLock(o.app, o.name);
  const running = engine.store.unfinishedDeployments(o.app, o.name)[0];
  // A rollout in progress (its process holds the lock: an interrupted one was reconciled above) is what the app is doing,
  // whatever its instances look like halfway: the release it brings and its phase, not `degraded` with the old release.
  const rolling = lock && running && ['deploy', 'rollback', 'restart'].includes(running.kind) && running.release ? running : undefined;
  if (rolling) state = 'deploying';
  const phase = running && lock ? rolloutPhase(running, engine.store.listSteps(running.id)) : undefined;
  const maintenance = await o.runtime.maintenance?.().catch(() => undefined);
  const last = engine.store.listDeployments(o.app, o.name, 1)[0];
  const stats = await o.runtime.trafficStats().catch(() => undefined);
  const platform = record.currentRelease && o.runtime.platformStatus ? await o.runtime.platformStatus().catch((err: unknown) => ({ workloads: [], events: [], error: (err as Error).message })) : undefined;
  return {
    target: o.name,
    type: o.target.type,
    release: record.currentRelease,
    state,
    desired: { state: record.desiredState, instances: record.instances, by: record.scaledFromManifest !== undefined ? 'scale' : 'manifest' },
    instances: o.hosts ? instances.filter((i) => o.hosts!.includes(i.node ?? '')) : instances,
    nodes: nodeNames && (o.hosts ?? nodeNames).map((node) => nodeStatus(node, record, instances.filter((i) => i.node === node), serving, unreachable.get(node))),
    url: await o.runtime.accessUrl(),
    missing_secrets: missing.length ? missing : undefined,
    autoscale: o.manifest.autoscale
      ? {
          min: o.manifest.autoscale.min,
          max: o.manifest.autoscale.max,
          cpu_percent: o.manifest.autoscale.cpu_percent,
          concurrency: o.manifest.autoscale.concurrency,
          events: engine.store
            .listEvents({ app: o.app, target: o.name, limit: 500 })
            .filter((e) => e.step === 'scale')
            .slice(-10)
            .map((e) => ({ at: e.at, ...(e.data as { from: number; to: number; reason: string }) })),
        }
      : undefined,
    deploying: lock
      ? { id: lock.deploymentId ?? running?.id ?? '', holder: lock.holder, since: lock.acquiredAt, waiting: running?.waiting, kind: running?.kind, release: running?.release, previous_release: running?.previousRelease, ...(phase ?? { phase: 'preparing' }) }
      : undefined,
    maintenance: maintenance ? { on: true, message: maintenance.message, retry_after_s: maintenance.retryAfterSeconds, since: maintenance.since } : undefined,
    last_deployment: last ? { id: last.id, kind: last.kind, status: last.status, release: last.release, reason: last.reason, finished_at: last.finishedAt } : undefined,
    reconciled: reconciled.length ? reconciled : undefined,
    traffic: stats,
    platform,
  };
}

/** One node's state: held (stopped on its own) or stopped with the target, scaled to zero, or whether it serves the desired count. */
function nodeStatus(node: string, record: TargetRecord, instances: InstanceStatus[], serving: (i: InstanceStatus) => boolean, unreachable?: string): NodeStatus {
  const held = record.heldNodes.includes(node);
  if (unreachable !== undefined) return { node, state: 'unreachable', held, instances: 0, serving: 0, error: unreachable };
  const n = instances.filter(serving).length;
  let state: NodeStatus['state'];
  if (held || record.desiredState === 'stopped') state = instances.some((i) => i.state !== 'stopped') ? 'degraded' : 'stopped';
  else if (record.instances === 0) state = instances.some((i) => i.state !== 'stopped') ? 'degraded' : 'scaled_to_zero';
  else state = n >= record.instances ? 'running' : 'degraded';
  return { node, state, held, instances: instances.length, serving: n };
}
