/** Releases: what makes one (content hash), how one is made runnable, which is current or last known-good, and retention. */
import { createHash } from 'node:crypto';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { ReleaseRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { resolveHealth } from './health.js';
import { hashSource } from './source.js';
import { releaseManifestOf } from './stored.js';
import type { Artifact } from './target.js';
import type { EngineEventLevel, Opened, ReleaseSecrets, RunnableRelease } from './types.js';
import { releaseManifest, stringEnv } from './util.js';

/** What makes a release: the code and the resolved manifest (never secret values). */
export function contentHash(engine: EngineContext, o: Opened, secrets: ReleaseSecrets): string {
  const source = hashSource(o.loaded.dir, [engine.opts.stateDir]);
  return createHash('sha256').update(source).update(JSON.stringify(releaseManifest(o.manifest))).update(JSON.stringify(secrets)).digest('hex');
}

export async function releaseRef(engine: EngineContext, rel: ReleaseRecord): Promise<RunnableRelease> {
  const m = releaseManifestOf(rel);
  const sec = m.gantry_secrets;
  let secretEnv: Record<string, string> = {};
  if (sec && Object.keys(sec.versions).length) {
    if (!engine.opts.secrets) throw new GantryError('SECRET_MISSING', `release ${rel.id} needs secrets but no secret store is configured`);
    secretEnv = await engine.opts.secrets.atVersions(rel.app, sec.env, sec.versions);
    engine.rememberSecrets(rel.app, secretEnv);
  }
  return { id: rel.id, artifact: rel.artifact as Artifact, run: { command: m.run.command, port: m.run.port }, health: resolveHealth(m.health), persist: m.persist, env: stringEnv(m.env), secretEnv };
}

export function currentRelease(engine: EngineContext, o: Opened): ReleaseRecord {
  const rel = o.record.currentRelease ? engine.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
  if (!rel) throw new GantryError('NOT_DEPLOYED', `${o.app} has not been deployed to ${o.name} yet`, 'run `gantry deploy` first');
  return rel;
}

/** The most recent release other than the current one that served healthily. */
export function lastKnownGood(engine: EngineContext, o: Opened): ReleaseRecord | undefined {
  return engine.store.listReleases(o.app, o.name).find((r) => r.id !== o.record.currentRelease && r.lastGoodAt);
}

/** Retention: keep the newest N, and never the current or the last known-good release. */
export async function prune(engine: EngineContext, o: Opened, emit: (level: EngineEventLevel, message: string) => void): Promise<void> {
  const record = engine.store.getTarget(o.app, o.name)!;
  const all = engine.store.listReleases(o.app, o.name);
  const lkg = all.find((r) => r.id !== record.currentRelease && r.lastGoodAt);
  const keep = new Set([...all.slice(0, DEFAULTS.releasesKept).map((r) => r.id), record.currentRelease, lkg?.id]);
  for (const r of all) {
    if (keep.has(r.id)) continue;
    try {
      await o.target.removeArtifact(r.artifact as Artifact, o.ctx);
      engine.store.markReleaseDeleted(o.app, o.name, r.id);
      emit('info', `pruned release ${r.id}`);
    } catch (err) {
      emit('warn', `could not prune release ${r.id}: ${(err as Error).message}`);
    }
  }
}
