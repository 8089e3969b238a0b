/** Read-only views: releases, logs, events, history. */
import type { LoadedManifest } from '../manifest/index.js';
import type { DeploymentRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { open, resolveTargetName } from './open.js';
import type { ReleaseInfo } from './types.js';

export async function releases(engine: EngineContext, loaded: LoadedManifest, targetName?: string): Promise<ReleaseInfo[]> {
  const name = resolveTargetName(loaded, targetName);
  const record = engine.store.getTarget(loaded.manifest.app, name);
  return engine.store.listReleases(loaded.manifest.app, name).map((r) => ({ release: r.id, created_at: r.createdAt, status: r.status, current: r.id === record?.currentRelease, last_good_at: r.lastGoodAt }));
}

export async function* logs(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { lines: number; follow: boolean; signal?: AbortSignal }) {
  const o = await open(engine, loaded, targetName);
  try {
    yield* o.runtime.logs(opts);
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
