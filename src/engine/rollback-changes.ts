/**
 * What a rollback takes back, said before it runs and returned with its result:
 * the code (release, version, commit), the env keys whose values change, and the
 * secrets going back to another version (with when each was set). With
 * `--keep-secrets` the secrets stay at their current versions: the rollback runs
 * a new release made of the old one's artifact and manifest with today's versions.
 */
import { createHash } from 'node:crypto';
import { GantryError } from '../core/errors.js';
import type { ReleaseRecord } from '../store/index.js';
import type { EngineContext } from './context.js';
import { newReleaseId } from './release-id.js';
import { releaseManifestOf } from './stored.js';
import type { Artifact } from './target.js';
import type { Opened, ReleaseSecrets, ReleaseSide, RollbackChanges } from './types.js';
import { stringEnv } from './util.js';

const side = (r: ReleaseRecord): ReleaseSide => ({ release: r.id, version: `v${r.version}`, commit: r.git?.commit, dirty: r.git?.dirty });
const secretsOf = (r: ReleaseRecord): ReleaseSecrets => (releaseManifestOf(r).gantry_secrets as ReleaseSecrets | undefined) ?? { versions: {} };

export async function rollbackChanges(engine: EngineContext, o: Opened, from: ReleaseRecord | undefined, to: ReleaseRecord, keptSecrets?: ReleaseSecrets): Promise<RollbackChanges> {
  const envFrom = from ? stringEnv(releaseManifestOf(from).env) : {};
  const envTo = stringEnv(releaseManifestOf(to).env);
  const env: RollbackChanges['env'] = [];
  for (const name of [...new Set([...Object.keys(envFrom), ...Object.keys(envTo)])].sort()) {
    if (!(name in envTo)) env.push({ name, change: 'removed' });
    else if (!(name in envFrom)) env.push({ name, change: 'added' });
    else if (envFrom[name] !== envTo[name]) env.push({ name, change: 'changed' });
  }
  const sFrom = from ? secretsOf(from) : { versions: {} };
  const sTo = secretsOf(to);
  const setAt = async (scope: string | undefined, name: string, version: string | undefined): Promise<string | undefined> => (version && engine.opts.secrets?.setAtOf ? engine.opts.secrets.setAtOf(o.app, scope, name, version) : undefined);
  const secrets: RollbackChanges['secrets'] = [];
  for (const name of [...new Set([...Object.keys(sFrom.versions), ...Object.keys(sTo.versions)])].sort()) {
    const a = sFrom.versions[name];
    const b = sTo.versions[name];
    if (a === b) continue;
    if (keptSecrets && b !== undefined) {
      secrets.push({ name, from: a, from_set_at: await setAt(sFrom.env, name, a), kept: true });
      continue;
    }
    secrets.push({ name, from: a, from_set_at: await setAt(sFrom.env, name, a), to: b, to_set_at: await setAt(sTo.env, name, b) });
  }
  return { code: { from: from && side(from), to: side(to), same_code: Boolean(from && from.buildKey && from.buildKey === to.buildKey) }, env, secrets };
}

/** One line per kind of change, for events and the terminal. */
export function describeChanges(c: RollbackChanges): string[] {
  const lines = [`code: ${c.code.from ? `${c.code.from.version}${c.code.from.commit ? ` (${c.code.from.commit.slice(0, 10)}${c.code.from.dirty ? '+dirty' : ''})` : ''} → ` : ''}${c.code.to.version}${c.code.to.commit ? ` (${c.code.to.commit.slice(0, 10)}${c.code.to.dirty ? '+dirty' : ''})` : ''}${c.code.same_code ? ', same code' : ''}`];
  if (c.env.length) lines.push(`env: ${c.env.map((e) => `${e.name} ${e.change}`).join(', ')}`);
  for (const s of c.secrets) {
    if (s.kept) lines.push(`secret ${s.name}: kept at the current version ${s.from}${s.from_set_at ? ` (set ${s.from_set_at})` : ''} (--keep-secrets)`);
    else if (s.to === undefined) lines.push(`secret ${s.name}: not used by the older release`);
    else lines.push(`secret ${s.name}: back to version ${s.to}${s.to_set_at ? ` (set ${s.to_set_at})` : ''}${s.from ? `, from ${s.from}${s.from_set_at ? ` (set ${s.from_set_at})` : ''}` : ''}${s.from ? '; --keep-secrets keeps the current one' : ''}`);
  }
  return lines;
}

/**
 * `--keep-secrets`: the release to roll back to, with the secrets it declares at
 * their current versions. The same release when nothing differs; else a new one
 * (the old manifest, today's versions) whose artifact the target makes from the old one.
 */
export async function withCurrentSecrets(engine: EngineContext, o: Opened, rel: ReleaseRecord): Promise<{ release: ReleaseRecord; secrets: ReleaseSecrets }> {
  const m = releaseManifestOf(rel);
  const old = secretsOf(rel);
  const names = Object.keys(old.versions);
  if (names.length === 0) return { release: rel, secrets: old };
  const r = await engine.opts.secrets!.resolve(o.app, old.env, names);
  if (r.missing.length) throw new GantryError('SECRET_MISSING', `--keep-secrets: ${r.missing.join(', ')} ${r.missing.length === 1 ? 'is' : 'are'} no longer set`, r.missing.map((n) => engine.opts.secrets!.setCommand(n, old.env)).join(' ; '));
  const secrets: ReleaseSecrets = { env: old.env, versions: r.versions };
  if (names.every((n) => r.versions[n] === old.versions[n])) return { release: rel, secrets };
  if (!o.target.reuseArtifact) throw new GantryError('USAGE', `--keep-secrets needs a new release made from ${rel.id}'s artifact, which the ${o.target.type} target cannot make`, 'roll back without --keep-secrets, then set the secrets again and deploy');
  const hash = createHash('sha256').update(rel.contentHash).update(JSON.stringify(secrets)).digest('hex');
  const id = newReleaseId(hash);
  const artifact = await o.target.reuseArtifact(rel.artifact as Artifact, { releaseId: id, sourceDir: o.loaded.dir, env: {}, run: { command: m.run.command, port: m.run.port }, persist: m.persist }, o.ctx);
  const { gantry_secrets: _s, ...manifest } = rel.manifest as Record<string, unknown>;
  const release = engine.store.insertRelease({ id, app: o.app, target: o.name, contentHash: hash, artifact, manifest: { ...manifest, gantry_secrets: secrets }, status: 'built', git: rel.git, buildKey: rel.buildKey });
  engine.emit({ app: o.app, target: o.name }, 'info', `--keep-secrets: release v${release.version} (${id}) is v${rel.version}'s code and manifest with the current secret versions`, 'plan');
  return { release, secrets };
}
