import { GantryError } from './errors.js';

/** App names, target names and release ids become path segments and container names. */
export const APP_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const RELEASE_ID_RE = /^[0-9]{8}T[0-9]{6}(?:[0-9]{3})?Z?-[a-z0-9]{4,40}$/;
export const SAFE_SEGMENT_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function assertSafeSegment(kind: string, value: string): string {
  if (!SAFE_SEGMENT_RE.test(value) && !RELEASE_ID_RE.test(value)) {
    throw new GantryError('USAGE', `invalid ${kind} "${value}"`, `a ${kind} may contain only lowercase letters, digits and '-' (max 63 characters)`);
  }
  return value;
}
