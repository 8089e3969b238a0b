/** Server ids: a prefix and random base32; the only shapes path parameters accept (no traversal). */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function newId(prefix: string, bytes = 10): string {
  const buf = randomBytes(bytes);
  let s = '';
  for (const b of buf) s += ALPHABET[b & 31];
  return `${prefix}_${s}`;
}

/** Any server id or name in a path: lowercase letters, digits, '-' and '_', at most 64. */
export const ID_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export const nowIso = (): string => new Date().toISOString();
