/** Releases: what makes one (content hash), how one is made runnable, which is current or last known-good, and retention. */
import { createHash } from 'node:crypto';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { ReleaseRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { resolveHealth } from './health.js';
import { releaseManifestOf } from './stored.js';
import type { Artifact } from './target.js';
import type { EngineEventLevel, Opened, ReleaseSecrets, RunnableRelease } from './types.js';
import { releaseManifest, stringEnv } from './util.js';

/** What makes a release: the code (its source's hash) and the resolved manifest (never secret values). */
export function contentHash(o: Opened, secrets: ReleaseSecrets, source: { hash: string }): string {
  return createHash('sha256').update(source.hash).update(JSON.stringify(releaseManifest(o.manifest))).update(JSON.stringify(secrets)).digest('hex');
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

/**
 * A release named by a person: `v12`, a release id or a unique prefix of one,
 * or a git commit (a prefix of at least 4 hex digits; the newest release of it).
 */
export function findRelease(engine: EngineContext, o: Opened, ref: string): ReleaseRecord {
  const all = engine.store.listReleases(o.app, o.name, { includeDeleted: true });
  const notKept = (r: ReleaseRecord): GantryError => new GantryError('RELEASE_NOT_FOUND', `release v${r.version} (${r.id}) of ${o.app} on ${o.name} is no longer kept (retention keeps the newest ${DEFAULTS.releasesKept})`, 'list the kept releases with `gantry releases`');
  const pick = (r: ReleaseRecord): ReleaseRecord => {
    if (r.deleted) throw notKept(r);
    return r;
  };
  const version = /^v(\d+)$/i.exec(ref);
  if (version) {
    const r = all.find((x) => x.version === Number(version[1]));
    if (r) return pick(r);
  }
  const exact = all.find((r) => r.id === ref);
  if (exact) return pick(exact);
  const byId = all.filter((r) => r.id.startsWith(ref));
  if (byId.length === 1) return pick(byId[0]!);
  if (byId.length > 1) throw new GantryError('USAGE', `"${ref}" matches ${byId.length} releases: ${byId.slice(0, 5).map((r) => `v${r.version}`).join(', ')}`, 'give more of the id, or the version (e.g. v3)');
  if (/^[0-9a-f]{4,40}$/i.test(ref)) {
    const byCommit = all.filter((r) => r.git?.commit.startsWith(ref.toLowerCase()));
    const kept = byCommit.find((r) => !r.deleted);
    if (kept) return kept;
    if (byCommit.length) throw notKept(byCommit[0]!);
  }
  throw new GantryError('RELEASE_NOT_FOUND', `no release "${ref}" of ${o.app} on ${o.name}`, 'name a release by version (v3), id (or its start) or commit; `gantry releases` lists them');
}
