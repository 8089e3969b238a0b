/**
 * The age identity (private key) that encrypts and decrypts the store, and the
 * store's recipient (public key) that guards against mixing keys.
 *
 * Precedence: the constructor option, then GANTRY_AGE_IDENTITY, then
 * `<dir>/identity.txt` (age-keygen format), created 0600 on the first set.
 * An identity never appears in a message.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { GantryError } from '../core/errors.js';
import { IDENTITY_FILE, RECIPIENT_FILE } from './paths.js';
import { createPrivateFile, ensurePrivateDir } from './fs.js';

export const IDENTITY_ENV = 'GANTRY_AGE_IDENTITY';

export type IdentitySource = 'option' | 'env' | 'file';

export interface LoadedIdentity {
  identity: string;
  /** The matching public key, `age1...`. */
  recipient: string;
  source: IdentitySource;
  /** Set when the identity came from (or was written to) identity.txt. */
  file?: string;
}

/** The first line that is neither empty nor a `#` comment (age-keygen writes comments above the key). */
export function parseIdentityText(text: string): string | undefined {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line && !line.startsWith('#')) return line;
  }
  return undefined;
}

export function describeSource(id: Pick<LoadedIdentity, 'source' | 'file'>): string {
  if (id.source === 'env') return IDENTITY_ENV;
  if (id.source === 'option') return 'the identity given to the secret store';
  return id.file ?? IDENTITY_FILE;
}

async function toLoaded(text: string, source: IdentitySource, file?: string): Promise<LoadedIdentity> {
  const where = describeSource({ source, file });
  const identity = parseIdentityText(text);
  const invalid = (): GantryError =>
    new GantryError('SECRET_IDENTITY', `${where} does not hold a valid age identity`, `expected one line AGE-SECRET-KEY-1... (as printed by age-keygen); fix or unset ${source === 'file' ? where : IDENTITY_ENV}`, { source, file });
  if (!identity || !/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(identity)) throw invalid();
  let recipient: string;
  try {
    recipient = await identityToRecipient(identity);
  } catch {
    throw invalid();
  }
  return { identity, recipient, source, file };
}

/** The identity to use, or undefined when none is configured and identity.txt does not exist. */
export async function loadIdentity(dir: string, explicit: string | undefined): Promise<LoadedIdentity | undefined> {
  if (explicit !== undefined && explicit !== '') return toLoaded(explicit, 'option');
  const fromEnv = process.env[IDENTITY_ENV];
  if (fromEnv !== undefined && fromEnv.trim() !== '') return toLoaded(fromEnv, 'env');
  const file = join(dir, IDENTITY_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return toLoaded(text, 'file', file);
}

/** Generate `<dir>/identity.txt` (0600, dir 0700). If another process created it first, use theirs. */
export async function createIdentityFile(dir: string): Promise<LoadedIdentity> {
  ensurePrivateDir(dir);
  const file = join(dir, IDENTITY_FILE);
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  const text = `# created: ${new Date().toISOString()}\n# public key: ${recipient}\n# Gantry secrets identity: keep it safe, without it the secrets cannot be decrypted.\n${identity}\n`;
  if (createPrivateFile(file, text)) return { identity, recipient, source: 'file', file };
  return toLoaded(readFileSync(file, 'utf8'), 'file', file);
}

/** The public key the store's secrets are encrypted to, if recorded. */
export function readStoreRecipient(dir: string): string | undefined {
  const file = join(dir, RECIPIENT_FILE);
  if (!existsSync(file)) return undefined;
  return parseIdentityText(readFileSync(file, 'utf8'));
}

/** Record the store's recipient on the first set (never overwrites one already there). */
export function recordStoreRecipient(dir: string, recipient: string): string {
  ensurePrivateDir(dir);
  const file = join(dir, RECIPIENT_FILE);
  if (createPrivateFile(file, `${recipient}\n`)) return recipient;
  return readStoreRecipient(dir) ?? recipient;
}

/** What to do when `id` is not the key the store's secrets were encrypted for. */
export function wrongIdentityHint(dir: string, id: LoadedIdentity, storeRecipient: string | undefined): string {
  const forKey = storeRecipient ? ` (public key ${storeRecipient})` : '';
  const identityFile = join(dir, IDENTITY_FILE);
  if (id.source === 'file') {
    return `${identityFile} is not the key these secrets were encrypted for${forKey}: restore the original identity.txt or set ${IDENTITY_ENV}=AGE-SECRET-KEY-1... to the right key`;
  }
  const src = id.source === 'env' ? IDENTITY_ENV : 'the identity given to the store';
  return `${src} holds another key: set ${IDENTITY_ENV} to the AGE-SECRET-KEY-1... these secrets were encrypted for${forKey}, or unset it to use ${identityFile}`;
}

export function noIdentityError(dir: string, what: string, storeRecipient: string | undefined): GantryError {
  const forKey = storeRecipient ? ` (public key ${storeRecipient})` : '';
  return new GantryError(
    'SECRET_IDENTITY',
    `no age identity to ${what}: ${join(dir, IDENTITY_FILE)} is missing and ${IDENTITY_ENV} is not set`,
    `set ${IDENTITY_ENV}=AGE-SECRET-KEY-1... to the key these secrets were encrypted for${forKey}, or restore ${join(dir, IDENTITY_FILE)} from a backup`,
    { dir },
  );
}
