/** The secrets and environment a release runs with (names and versions are recorded, never values). */
import { GantryError } from '../core/errors.js';
import type { EngineContext } from './context.js';
import type { ReleaseRef } from './target.js';
import type { Opened, ReleaseSecrets } from './types.js';

/** The declared secrets, resolved now; a missing one stops the deploy before anything changes (exit 2) with the exact command to set it. */
export async function currentSecrets(engine: EngineContext, o: Opened): Promise<ReleaseSecrets> {
  const names = o.manifest.secrets ?? [];
  if (names.length === 0) return { env: o.loaded.env, versions: {} };
  if (!engine.opts.secrets) throw new GantryError('SECRET_MISSING', `${o.app} declares secrets but no secret store is available`, 'run gantry from the CLI, which opens .gantry/secrets');
  const r = await engine.opts.secrets.resolve(o.app, o.loaded.env, names);
  engine.rememberSecrets(o.app, r.values);
  if (r.missing.length) {
    throw new GantryError('SECRET_MISSING', `${o.app} needs secret${r.missing.length > 1 ? 's' : ''} ${r.missing.join(', ')}, not set${o.loaded.env ? ` for environment ${o.loaded.env}` : ''}`, r.missing.map((n) => engine.opts.secrets!.setCommand(n, o.loaded.env)).join(' ; '), { missing: r.missing });
  }
  return { env: o.loaded.env, versions: r.versions };
}

export function appEnv(o: Opened, rel: ReleaseRef & { env: Record<string, string> }, instance: string): Record<string, string> {
  return { ...rel.env, GANTRY_APP: o.app, GANTRY_TARGET: o.name, GANTRY_RELEASE: rel.id, GANTRY_INSTANCE: instance };
}
