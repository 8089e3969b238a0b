/**
 * The env layer set with `gantry env set K=V` (Heroku's config vars): values kept
 * in the state dir, per app and environment, applied over the manifest's `env`
 * after its environment overlay. They win over the file, so a deploy of the same
 * code with a changed value is a new release (which reuses the artifact).
 */
import { ENV_VAR_NAME_RE } from './schema.js';
import type { LoadedManifest } from './load.js';

/** Names the CLI refuses to set: Gantry gives them to every instance itself. */
const RESERVED = /^(PORT|HOST|GANTRY_.*)$/;

/** Why this name cannot be an env var set by `gantry env set`, or undefined when it can. */
export function envVarNameProblem(name: string): string | undefined {
  if (!ENV_VAR_NAME_RE.test(name)) return `invalid environment variable name "${name}": use letters, digits and "_", not starting with a digit`;
  if (RESERVED.test(name)) return `${name} is set by Gantry for every instance (PORT, HOST and GANTRY_* are reserved)`;
  if (name.length > 256) return 'the name is longer than 256 characters';
  return undefined;
}

/** The manifest with `vars` over its env (the loaded manifest's own env stays as the file says in `raw`). */
export function withEnvVars(loaded: LoadedManifest, vars: Record<string, string>): LoadedManifest {
  if (Object.keys(vars).length === 0) return loaded;
  return { ...loaded, manifest: { ...loaded.manifest, env: { ...loaded.manifest.env, ...vars } } };
}
