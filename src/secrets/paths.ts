/**
 * Where secrets live on disk, and the validation that runs before any name
 * becomes part of a path: `<dir>/<app>/<env>/<NAME>.age`.
 */
import { join } from 'node:path';
import { GantryError } from '../core/errors.js';

/** The scope of a secret set without `--env`: it applies to every environment. */
export const DEFAULT_ENV = 'default';
export const SECRET_EXT = '.age';
export const IDENTITY_FILE = 'identity.txt';
/** The public key the store's secrets are encrypted to (written on the first set). */
export const RECIPIENT_FILE = 'recipient.txt';

export const SECRET_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;
/** Like app names elsewhere (src/core/names.ts): no leading/trailing '-', at most 63 characters. */
export const SCOPE_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_NAME_LENGTH = 128;

export function secretsDir(stateDir: string): string {
  return join(stateDir, 'secrets');
}

export function assertSecretName(name: string): string {
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !SECRET_NAME_RE.test(name)) {
    throw new GantryError('USAGE', `invalid secret name ${JSON.stringify(String(name).slice(0, MAX_NAME_LENGTH))}`, `a secret name is upper case letters, digits and '_', not starting with a digit (e.g. DATABASE_URL), at most ${MAX_NAME_LENGTH} characters`);
  }
  return name;
}

export function assertApp(app: string): string {
  if (typeof app !== 'string' || !SCOPE_RE.test(app)) {
    throw new GantryError('USAGE', `invalid app name ${JSON.stringify(String(app).slice(0, 64))}`, "an app name is lowercase letters, digits and '-' (max 63 characters)");
  }
  return app;
}

/** `undefined` and '' mean the app-wide scope, 'default'. */
export function normalizeEnv(env: string | undefined): string {
  if (env === undefined || env === '') return DEFAULT_ENV;
  if (typeof env !== 'string' || !SCOPE_RE.test(env)) {
    throw new GantryError('USAGE', `invalid environment name ${JSON.stringify(String(env).slice(0, 64))}`, "an environment name is lowercase letters, digits and '-' (max 63 characters)");
  }
  return env;
}

export function appDir(dir: string, app: string): string {
  return join(dir, assertApp(app));
}

export function scopeDir(dir: string, app: string, env: string): string {
  return join(dir, assertApp(app), normalizeEnv(env));
}

export function secretFile(dir: string, app: string, env: string, name: string): string {
  return join(scopeDir(dir, app, env), assertSecretName(name) + SECRET_EXT);
}
