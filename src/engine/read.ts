/** Read-only views: releases, logs, events, history. */
import type { LoadedManifest } from '../manifest/index.js';
import type { DeploymentRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { selectHosts, type HostOption } from './hosts.js';
import { nodeLogs } from './node-logs.js';
import { openNodes } from './nodes.js';
import { open, resolveTargetName } from './open.js';
import type { Opened, ReleaseInfo } from './types.js';
import type { LogLine } from './target.js';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';

export async function releases(engine: EngineContext, loaded: LoadedManifest, targetName?: string): Promise<ReleaseInfo[]> {
  const name = resolveTargetName(loaded, targetName);
  const record = engine.store.getTarget(loaded.manifest.app, name);
  return engine.store.listReleases(loaded.manifest.app, name).map((r) => ({ release: r.id, version: `v${r.version}`, created_at: r.createdAt, status: r.status, current: r.id === record?.currentRelease, last_good_at: r.lastGoodAt, commit: r.git?.commit, branch: r.git?.branch, dirty: r.git?.dirty, author: r.git?.author }));
}

/** What `gantry logs` keeps: lines since a time, matching a pattern, of some instances (id or its start). */
export interface LogFilter {
  /** ISO time: only lines at or after it. */
  since?: string;
  grep?: RegExp;
  instance?: string;
}

/**
 * The app's output; on a many-node target from every node (or those named with `--host`), each line tagged with
 * its node, followed on all at once. With `access`: the proxy's access log instead. Filters apply to both; with a
 * filter and no follow, up to DEFAULTS.logsFilterScanLines lines are read so `lines` counts matching lines.
 */
export async function* logs(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { lines: number; follow: boolean; signal?: AbortSignal; access?: boolean } & LogFilter & HostOption) {
  const o = await open(engine, loaded, targetName);
  try {
    await selectHosts(engine, o, opts.hosts);
    const nodes = await openNodes(engine, o);
    const filtered = Boolean(opts.since || opts.grep || opts.instance);
    const scan = { lines: filtered && !opts.follow ? Math.max(opts.lines, DEFAULTS.logsFilterScanLines) : opts.lines, follow: opts.follow, signal: opts.signal };
    const keep = (l: LogLine): boolean => (!opts.since || (l.at !== undefined && l.at >= opts.since)) && (!opts.grep || opts.grep.test(l.text)) && (!opts.instance || l.instance.startsWith(opts.instance));
    let source: AsyncIterable<LogLine>;
    if (opts.access) {
      if (nodes || !o.runtime.accessLog) throw new GantryError('USAGE', `the ${o.target.type} target has no access log Gantry can read from here`, 'the process and docker targets keep one: `gantry logs --access`');
      source = o.runtime.accessLog(scan);
    } else if (nodes) source = nodeLogs(o.hosts ? nodes.filter((n) => o.hosts!.includes(n.name)) : nodes, scan);
    else source = o.runtime.logs({ ...scan, instances: opts.instance ? await matchingInstances(o, opts.instance) : undefined });
    if (!filtered) {
      yield* source;
      return;
    }
    if (opts.follow) {
      for await (const l of source) if (keep(l)) yield l;
      return;
    }
    const out: LogLine[] = [];
    for await (const l of source) if (keep(l)) out.push(l);
    yield* out.slice(-opts.lines);
  } finally {
    await o.runtime.close();
  }
}

/** The instances whose id starts with `prefix` (running now or with logs kept); none is bad usage naming those there are. */
async function matchingInstances(o: Opened, prefix: string): Promise<string[]> {
  const ids = (await o.runtime.instances()).map((i) => i.id);
  const hits = ids.filter((id) => id.startsWith(prefix));
  if (hits.length) return hits;
  throw new GantryError('USAGE', `no instance "${prefix}" of ${o.app} on ${o.name}`, ids.length ? `instances now: ${ids.join(', ')}` : 'nothing runs now (`gantry status`)');
}

export function events(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { deploymentId?: string; limit?: number }) {
  const name = resolveTargetName(loaded, targetName);
  return engine.store.listEvents({ app: loaded.manifest.app, target: name, deploymentId: opts.deploymentId, limit: opts.limit });
}

export function history(engine: EngineContext, loaded: LoadedManifest, targetName?: string, limit = 20): DeploymentRecord[] {
  return engine.store.listDeployments(loaded.manifest.app, resolveTargetName(loaded, targetName), limit);
}
