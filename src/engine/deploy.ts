/** `gantry deploy`: build a new release (unless nothing changed) and roll it out. */
import type { LoadedManifest, StoredManifest } from '../manifest/index.js';
import { backupOpened, backupsDir } from './backup-glue.js';
import type { EngineContext } from './context.js';
import { newReleaseId } from './release-id.js';
import { currentSecrets } from './release-secrets.js';
import { contentHash } from './releases.js';
import { rollout } from './rollout.js';
import type { DeployResult } from './types.js';
import { releaseManifest, stringEnv, toGantryError } from './util.js';
import { GantryError } from '../core/errors.js';
import { desiredInstances, scaleForgotten } from './formation.js';
import { heal, servingCount } from './heal.js';
import { ensureAccess, placeCount } from './nodes.js';
import { retireFormerAccess } from './run-plan.js';
import type { EngineEventLevel } from './types.js';
import { resolveTargetName } from './open.js';
import { assertTargetValid } from './validate-targets.js';
import { withTarget } from './with-target.js';
import { dirtyTreeNote, openReleaseSource, type ReleaseSource } from './release-source.js';
import { reuseArtifact } from './reuse-artifact.js';
import type { Opened, ReconcileReport, ReleaseSecrets } from './types.js';

export async function deploy(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean; force?: boolean; signal?: AbortSignal } = {}): Promise<DeployResult> {
  // The target's own checks (e.g. run.command where it is needed) refuse a manifest before anything starts.
  await assertTargetValid(engine.opts.registry, loaded, resolveTargetName(loaded, targetName));
  return withTarget(engine, loaded, targetName, 'deploy', opts.wait ?? false, async (o, reconciled) => {
    const secrets = await currentSecrets(engine, o);
    const src = await openReleaseSource(engine, o);
    try {
      return await deployFrom(engine, o, src, secrets, reconciled, opts);
    } finally {
      src.dispose();
    }
  });
}

async function deployFrom(engine: EngineContext, o: Opened, src: ReleaseSource, secrets: ReleaseSecrets, reconciled: ReconcileReport[], opts: { force?: boolean; signal?: AbortSignal }): Promise<DeployResult> {
  {
    const hash = contentHash(o, secrets, src);
    const current = o.record.currentRelease ? engine.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
    if (!opts.force && current && current.contentHash === hash && o.record.desiredState === 'running') {
      // "Nothing to deploy" only when every desired instance serves; otherwise the same release is healed.
      const serving = await servingCount(o, current);
      // The count is per node: a many-node target runs it on each of its nodes (held ones aside).
      const expected = o.record.instances * (await placeCount(engine, o));
      if (serving >= expected) {
        const emit = (level: EngineEventLevel, message: string, step?: string): void => engine.emit({ app: o.app, target: o.name }, level, message, step);
        // The target's settings are no part of a release: a changed access port moves the access point here
        // (the new address listens before the former one closes).
        const before = await o.runtime.accessUrl();
        const url = await ensureAccess(engine, o);
        if (url !== before) {
          emit('info', `the access point moved from ${before ?? '(none)'} to ${url}`, 'access');
          await retireFormerAccess(o, emit);
        }
        emit('info', `nothing to deploy: release ${current.id} already has this code, manifest, env and secrets (--force redeploys)`, 'plan');
        return { id: '', app: o.app, target: o.name, kind: 'deploy', release: current.id, status: 'succeeded', unchanged: true, url, duration_ms: 0, reason: url !== before ? `nothing to deploy; the access point moved to ${url}` : 'nothing to deploy', reconciled: reconciled.length ? reconciled : undefined };
      }
      return heal(engine, o, current, serving, expected, reconciled);
    }
    const releaseId = newReleaseId(hash);
    const dirty = dirtyTreeNote(src);
    if (dirty) engine.emit({ app: o.app, target: o.name }, 'warn', dirty, 'plan');
    if (o.manifest.backup?.before_deploy && current) {
      await backupOpened(engine, o, { reason: 'before deploy' }).catch((err: unknown) => {
        const e = toGantryError(err);
        throw new GantryError(e.code, `the backup before deploy failed, so nothing was deployed: ${e.message}`, `${e.hint ? `${e.hint}; then deploy again` : 'fix that and deploy again'} (or set backup.before_deploy: false to deploy without a backup)`, e.details);
      });
      const removed = await engine.opts.backups!.prune(backupsDir(engine), o.manifest.backup.keep, { app: o.app, target: o.name });
      if (removed.length) engine.emit({ app: o.app, target: o.name }, 'info', `pruned ${removed.length} old backup(s)`, 'backup');
    }
    const count = desiredInstances(o);
    const forget = scaleForgotten(o);
    if (forget) engine.emit({ app: o.app, target: o.name }, 'info', `run.instances changed to ${count} in the manifest: it replaces the count set by \`gantry scale\` (${o.record.instances})`, 'plan');
    else if (count !== o.manifest.run.instances) engine.emit({ app: o.app, target: o.name }, 'info', `${count} instance(s), as set by \`gantry scale\` (the manifest says ${o.manifest.run.instances}; changing run.instances there replaces it)`, 'plan');
    if (count === 0) engine.emit({ app: o.app, target: o.name }, 'info', `scaled to 0: release ${releaseId} is built and recorded but runs no instance; \`gantry scale N\` starts it`, 'plan');
    const result = await rollout(engine, o, {
      kind: 'deploy',
      releaseId,
      count,
      reconciled,
      signal: opts.signal,
      build: async () => {
        const input = { releaseId, sourceDir: src.dir, build: o.manifest.build, run: o.manifest.run, env: stringEnv(o.manifest.env), persist: o.manifest.persist, source: src.git, manifest: releaseManifest(o.manifest) as StoredManifest };
        const artifact = (await reuseArtifact(engine, o, src.buildKey, input)) ?? (await o.target.build(input, o.ctx).catch((err: unknown) => {
          // A failed build's message carries its output's tail.
          if (err instanceof Error) err.message = engine.redactFor(o.app)(err.message);
          throw err;
        }));
        return engine.store.insertRelease({ id: releaseId, app: o.app, target: o.name, contentHash: hash, artifact, manifest: { ...releaseManifest(o.manifest), gantry_secrets: secrets }, status: 'built', git: src.git, buildKey: src.buildKey });
      },
    });
    if (forget && result.status === 'succeeded') engine.store.updateTarget(o.app, o.name, { scaledFromManifest: undefined });
    return result;
  }
}
