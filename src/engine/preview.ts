/** `gantry plan`: what a deploy would do, computed without changing anything. */
import { isGantryError } from '../core/errors.js';
import type { LoadedManifest, StoredManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { desiredInstances } from './formation.js';
import { open } from './open.js';
import type { Step } from './plan.js';
import { newReleaseId } from './release-id.js';
import { currentSecrets } from './release-secrets.js';
import { contentHash } from './releases.js';
import { deploymentSteps } from './rollout.js';
import type { PlanResult, ReleaseSecrets } from './types.js';
import { releaseManifest, stringEnv } from './util.js';
import { dirtyTreeNote, openReleaseSource, type ReleaseSource } from './release-source.js';
import { reusableRelease } from './reuse-artifact.js';
import type { Opened } from './types.js';

export async function plan(engine: EngineContext, loaded: LoadedManifest, targetName?: string): Promise<PlanResult> {
  const o = await open(engine, loaded, targetName);
  try {
    let missingSecrets: string[] = [];
    let secrets: ReleaseSecrets = { env: loaded.env, versions: {} };
    try {
      secrets = await currentSecrets(engine, o);
    } catch (err) {
      if (!(isGantryError(err) && err.code === 'SECRET_MISSING')) throw err;
      missingSecrets = ((err.details as { missing?: string[] }) ?? {}).missing ?? [];
    }
    const src = await openReleaseSource(engine, o);
    try {
      return await planFrom(engine, o, src, secrets, missingSecrets);
    } finally {
      src.dispose();
    }
  } finally {
    await o.runtime.close();
  }
}

async function planFrom(engine: EngineContext, o: Opened, src: ReleaseSource, secrets: ReleaseSecrets, missingSecrets: string[]): Promise<PlanResult> {
  {
    const hash = contentHash(o, secrets, src);
    const current = o.record.currentRelease ? engine.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
    const release = current && current.contentHash === hash ? current.id : newReleaseId(hash);
    const count = desiredInstances(o);
    const steps: Step[] = await deploymentSteps(engine, o, { kind: 'deploy', releaseId: release, count, build: true });
    let build: Record<string, unknown> | undefined;
    try {
      build = o.target.describeBuild?.({ releaseId: release, sourceDir: src.dir, build: o.manifest.build, run: o.manifest.run, env: stringEnv(o.manifest.env), persist: o.manifest.persist, manifest: releaseManifest(o.manifest) as StoredManifest }, o.ctx);
    } catch (err) {
      build = { problem: (err as Error).message };
    }
    const unchanged = release === current?.id && o.record.desiredState === 'running';
    return {
      app: o.app,
      target: o.name,
      release,
      new_release: release !== current?.id,
      nothing_to_do: unchanged,
      strategy: o.manifest.exclusive ? 'exclusive (stop-then-start)' : o.manifest.strategy.type,
      instances: count,
      start: unchanged ? [] : steps.filter((s) => s.kind === 'startInstance').map((s) => (s as Extract<Step, { kind: 'startInstance' }>).instance),
      stop: unchanged ? [] : (await o.runtime.routes()).map((r) => r.instance),
      missing_secrets: missingSecrets,
      persist: o.manifest.persist ?? [],
      url: await o.runtime.accessUrl(),
      build,
      steps: unchanged ? [] : steps,
      git: src.git,
      dirty: dirtyTreeNote(src),
      reuses_artifact_of: !unchanged && release !== current?.id && o.target.reuseArtifact ? reusableVersion(engine, o, src.buildKey) : undefined,
    };
  }
}

function reusableVersion(engine: EngineContext, o: Opened, buildKey: string): string | undefined {
  const r = reusableRelease(engine, o, buildKey);
  return r ? `v${r.version}` : undefined;
}
