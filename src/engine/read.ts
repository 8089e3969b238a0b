/** Read-only views: releases, logs, events, history. */
import type { LoadedManifest } from '../manifest/index.js';
import type { DeploymentRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { selectHosts, type HostOption } from './hosts.js';
import { nodeLogs } from './node-logs.js';
import { openNodes } from './nodes.js';
import { open, resolveTargetName } from './open.js';
import type { ReleaseInfo } from './types.js';

export async function releases(engine: EngineContext, loaded: LoadedManifest, targetName?: string): Promise<ReleaseInfo[]> {
  const name = resolveTargetName(loaded, targetName);
  const record = engine.store.getTarget(loaded.manifest.app, name);
  return engine.store.listReleases(loaded.manifest.app, name).map((r) => ({ release: r.id, version: `v${r.version}`, created_at: r.createdAt, status: r.status, current: r.id === record?.currentRelease, last_good_at: r.lastGoodAt, commit: r.git?.commit, branch: r.git?.branch, dirty: r.git?.dirty, author: r.git?.author }));
}

/** The app's output; on a many-node target from every node (or those named with `--host`), each line tagged with its node, followed on all at once. */
export async function* logs(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { lines: number; follow: boolean; signal?: AbortSignal } & HostOption) {
  const o = await open(engine, loaded, targetName);
  try {
    await selectHosts(engine, o, opts.hosts);
    const nodes = await openNodes(engine, o);
    const { hosts: _hosts, ...logOpts } = opts;
    if (nodes) yield* nodeLogs(o.hosts ? nodes.filter((n) => o.hosts!.includes(n.name)) : nodes, logOpts);
    else yield* o.runtime.logs(logOpts);
  } finally {
    await o.runtime.close();
  }
}

export function events(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { deploymentId?: string; limit?: number }) {
  const name = resolveTargetName(loaded, targetName);
  return engine.store.listEvents({ app: loaded.manifest.app, target: name, deploymentId: opts.deploymentId, limit: opts.limit });
}

export function history(engine: EngineContext, loaded: LoadedManifest, targetName?: string, limit = 20): DeploymentRecord[] {
  return engine.store.listDeployments(loaded.manifest.app, resolveTargetName(loaded, targetName), limit);
}
