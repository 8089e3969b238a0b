/**
 * `gantry destroy`: everything of the app on one target goes: its instances, proxy and
 * agent (the runtime's shutdown), every release's artifact, what else the target keeps
 * (its destroy(): volumes, leftovers), and its rows in the state store. Persistent data
 * stays with `keepData`; secrets (per app, every environment) go only with `includeSecrets`.
 */
import { rmSync } from 'node:fs';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import type { Artifact } from './target.js';
import { withTarget } from './with-target.js';

export interface DestroyResult {
  app: string;
  target: string;
  destroyed: true;
  /** What went, one line each (releases, images, volumes, directories ...). */
  removed: string[];
  kept: string[];
}

export async function destroy(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { includeSecrets?: boolean; keepData?: boolean; wait?: boolean }): Promise<DestroyResult> {
  return withTarget(engine, loaded, targetName, 'destroy', opts.wait ?? false, async (o) => {
    const emit = (level: 'info' | 'warn', message: string): void => engine.emit({ app: o.app, target: o.name }, level, message, 'destroy');
    const removed: string[] = [];
    const kept: string[] = [];
    emit('warn', `destroying ${o.app} on ${o.name}`);
    await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
    removed.push('instances, proxy and agent');
    for (const r of engine.store.listReleases(o.app, o.name)) {
      if (r.deleted) continue;
      try {
        await o.target.removeArtifact(r.artifact as Artifact, o.ctx);
        removed.push(`release ${r.id}`);
      } catch (err) {
        emit('warn', `could not remove release ${r.id}: ${(err as Error).message}`);
      }
    }
    const persist = o.manifest.persist ?? [];
    if (o.target.destroy) removed.push(...(await o.target.destroy(o.ctx, { keepData: Boolean(opts.keepData), persist })));
    if (opts.keepData && persist.length) kept.push(`persistent data (${persist.join(', ')})`);
    if (opts.includeSecrets && engine.opts.secrets) {
      rmSync(engine.opts.secrets.appDir(o.app), { recursive: true, force: true });
      removed.push(`secrets of ${o.app} (every environment)`);
    } else if ((o.manifest.secrets ?? []).length) kept.push('secrets (--include-secrets removes them)');
    engine.store.audit(engine.opts.actor, 'destroy', o.app, o.name, { removed: removed.length, keepData: Boolean(opts.keepData), includeSecrets: Boolean(opts.includeSecrets) });
    engine.store.forgetTarget(o.app, o.name);
    removed.push('state (releases, deployments, events)');
    return { app: o.app, target: o.name, destroyed: true as const, removed, kept };
  });
}
