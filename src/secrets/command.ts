/**
 * The light part of the secrets module (no crypto imports), for faces that
 * only need to tell the user what to run.
 */
import { DEFAULT_ENV } from './paths.js';

export const MAX_SECRET_BYTES = 1024 * 1024;

/** The exact command that sets a secret, for hints. */
export function setCommand(name: string, env: string | undefined): string {
  const scoped = env !== undefined && env !== '' && env !== DEFAULT_ENV;
  return `printf %s VALUE | gantry secrets set ${name}${scoped ? ` --env ${env}` : ''}`;
}
