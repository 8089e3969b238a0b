/**
 * Config without a rebuild: a release whose code and build inputs equal those of
 * a kept release (only env or secret values changed) gets that release's artifact
 * through the target's `reuseArtifact` (hard links, the same image), not a build.
 */
import type { EngineContext } from './context.js';
import type { Artifact, BuildInput } from './target.js';
import type { Opened } from './types.js';

/** The newest kept release with this build key, if any (a failed one too: an env change is often its fix). */
export function reusableRelease(engine: EngineContext, o: Opened, buildKey: string) {
  return engine.store.listReleases(o.app, o.name).find((r) => r.buildKey === buildKey);
}

/** The reused artifact, or undefined when the target must build (no such release, no support, or reuse failed). */
export async function reuseArtifact(engine: EngineContext, o: Opened, buildKey: string, input: BuildInput): Promise<Artifact | undefined> {
  const from = reusableRelease(engine, o, buildKey);
  if (!from || !o.target.reuseArtifact) return undefined;
  const emit = (level: 'info' | 'warn', message: string): void => engine.emit({ app: o.app, target: o.name }, level, message, 'build');
  try {
    const artifact = await o.target.reuseArtifact(from.artifact as Artifact, input, o.ctx);
    emit('info', `same code and build as release v${from.version} (${from.id}): only env or secrets changed, so its artifact is reused (no rebuild)`);
    return artifact;
  } catch (err) {
    emit('warn', `could not reuse the artifact of release v${from.version} (${(err as Error).message}): building`);
    return undefined;
  }
}
