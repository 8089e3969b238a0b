import { DEFAULTS } from '../core/defaults.js';
/**
 * The age-encrypted secret store: one binary age file per secret at
 * `<dir>/<app>/<env>/<NAME>.age` (0600, directories 0700), encrypted to the
 * X25519 recipient of the store's identity. `setAt` is the file's mtime and
 * `version` a short sha256 of its ciphertext (age is randomized, so every set
 * changes it). Values never appear in a message, a log or a plaintext file.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Decrypter, Encrypter } from 'age-encryption';
import { GantryError, isGantryError } from '../core/errors.js';
import { DEFAULT_ENV, SCOPE_RE, SECRET_EXT, SECRET_NAME_RE, RECIPIENT_FILE, appDir, assertApp, assertSecretName, normalizeEnv, scopeDir, secretFile } from './paths.js';
import { ensurePrivateDir, writePrivateFile } from './fs.js';
import { createIdentityFile, loadIdentity, noIdentityError, readStoreRecipient, recordStoreRecipient, wrongIdentityHint, type LoadedIdentity } from './identity.js';

export interface SecretMeta {
  name: string;
  app: string;
  /** 'default' when set without an environment (applies to every environment). */
  env: string;
  setAt: string;
  /** Short sha256 of the ciphertext; changes on every set. */
  version: string;
}

export interface SecretStoreOptions {
  /** e.g. `<stateDir>/secrets` */
  dir: string;
  /** AGE-SECRET-KEY-1...; default: env GANTRY_AGE_IDENTITY, else `<dir>/identity.txt` (created 0600 on the first set). */
  identity?: string;
}

export interface SecretCheck {
  name: string;
  ok: boolean;
  problem?: string;
  hint?: string;
}

/** Largest value accepted (certificates and keys fit; a mistaken pipe of a big file does not). */
/** Earlier versions of each secret live here, per scope. */
const HISTORY_DIR = '.history';

export { MAX_SECRET_BYTES } from './command.js';
import { MAX_SECRET_BYTES } from './command.js';
const VERSION_LENGTH = 12;

/** The exact command that sets a secret (the hint of SECRET_MISSING). */
export { setCommand } from './command.js';
import { setCommand } from './command.js';

function versionOf(ciphertext: Uint8Array): string {
  return createHash('sha256').update(ciphertext).digest('hex').slice(0, VERSION_LENGTH);
}

function readIfExists(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw e;
  }
}

/** Library messages name the failing structure, never plaintext; keep them short and printable anyway. */
function libReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/[^\x20-\x7e]/g, '?').slice(0, 80);
}

interface Located {
  file: string;
  env: string;
}

export class SecretStore {
  readonly dir: string;
  private readonly explicitIdentity?: string;
  private cached?: LoadedIdentity;

  constructor(opts: SecretStoreOptions) {
    this.dir = opts.dir;
    this.explicitIdentity = opts.identity;
  }

  async set(app: string, env: string | undefined, name: string, value: string): Promise<SecretMeta> {
    assertApp(app);
    const scope = normalizeEnv(env);
    assertSecretName(name);
    if (typeof value !== 'string') throw new GantryError('USAGE', `the value of ${name} must be a string`);
    if (value === '') throw new GantryError('USAGE', `refusing to store an empty value for ${name}`, `pipe the value in: ${setCommand(name, scope)}`);
    if (Buffer.byteLength(value, 'utf8') > MAX_SECRET_BYTES) throw new GantryError('USAGE', `the value of ${name} is larger than ${MAX_SECRET_BYTES} bytes`, 'store a path or a reference instead of the content');

    const storeRecipient = readStoreRecipient(this.dir);
    const id = await this.identityForWrite(storeRecipient);
    if (storeRecipient && storeRecipient !== id.recipient) {
      throw new GantryError('SECRET_IDENTITY', `cannot set ${name}: the identity from ${this.describe(id)} is not the key of the secrets in ${this.dir}`, wrongIdentityHint(this.dir, id, storeRecipient), { dir: this.dir });
    }

    const enc = new Encrypter();
    enc.addRecipient(id.recipient);
    const ciphertext = await enc.encrypt(value);

    if (!storeRecipient) {
      const recorded = recordStoreRecipient(this.dir, id.recipient);
      if (recorded !== id.recipient) {
        throw new GantryError('SECRET_IDENTITY', `cannot set ${name}: another process initialised ${this.dir} with a different key`, wrongIdentityHint(this.dir, id, recorded), { dir: this.dir });
      }
    }
    ensurePrivateDir(this.dir);
    ensurePrivateDir(appDir(this.dir, app));
    ensurePrivateDir(scopeDir(this.dir, app, scope));
    const file = secretFile(this.dir, app, scope, name);
    writePrivateFile(file, ciphertext);
    this.keepVersion(app, scope, name, ciphertext);
    return { name, app, env: scope, setAt: statSync(file).mtime.toISOString(), version: versionOf(ciphertext) };
  }

  /**
   * Earlier values stay available by version (encrypted, newest few kept), so
   * rolling back to a release brings back the secret values it ran with.
   */
  private keepVersion(app: string, scope: string, name: string, ciphertext: Uint8Array): void {
    const dir = join(scopeDir(this.dir, app, scope), HISTORY_DIR);
    ensurePrivateDir(dir);
    writePrivateFile(join(dir, `${name}@${versionOf(ciphertext)}${SECRET_EXT}`), ciphertext);
    const mine = listDir(dir)
      .filter((f) => f.startsWith(`${name}@`))
      .map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const old of mine.slice(DEFAULTS.secretVersionsKept)) unlinkSync(join(dir, old.f));
  }

  /** When this version of a secret was set (its kept copy's time), or undefined when it is no longer kept. */
  setAtOf(app: string, env: string | undefined, name: string, version: string): string | undefined {
    assertSecretName(name);
    if (!/^[a-f0-9]{4,64}$/.test(version)) return undefined;
    const scope = normalizeEnv(env);
    for (const sc of scope === DEFAULT_ENV ? [DEFAULT_ENV] : [scope, DEFAULT_ENV]) {
      const st = statSync(join(scopeDir(this.dir, app, sc), HISTORY_DIR, `${name}@${version}${SECRET_EXT}`), { throwIfNoEntry: false });
      if (st) return st.mtime.toISOString();
    }
    return undefined;
  }

  /** Values at the given versions (what a release recorded); a version no longer kept is SECRET_MISSING with the set command. */
  async atVersions(app: string, env: string | undefined, versions: Record<string, string>): Promise<Record<string, string>> {
    const scope = normalizeEnv(env);
    const out: Record<string, string> = {};
    for (const [name, version] of Object.entries(versions)) {
      assertSecretName(name);
      if (!/^[a-f0-9]{4,64}$/.test(version)) throw new GantryError('USAGE', `invalid secret version for ${name}`);
      const current = await this.tryRead(app, scope, name);
      if (current && current.version === version) {
        out[name] = current.value;
        continue;
      }
      const scopes = scope === DEFAULT_ENV ? [DEFAULT_ENV] : [scope, DEFAULT_ENV];
      const file = scopes.map((sc) => join(scopeDir(this.dir, app, sc), HISTORY_DIR, `${name}@${version}${SECRET_EXT}`)).find((f) => readIfExists(f));
      if (!file) throw new GantryError('SECRET_MISSING', `version ${version} of secret ${name} is no longer kept`, `set it again (${setCommand(name, scope)}) and deploy`, { app, env: scope, name });
      const id = await this.identity();
      if (!id) throw noIdentityError(this.dir, `decrypt ${file}`, readStoreRecipient(this.dir));
      const dec = new Decrypter();
      dec.addIdentity(id.identity);
      try {
        out[name] = await dec.decrypt(new Uint8Array(readIfExists(file)!), 'text');
      } catch (e) {
        throw this.decryptError(e, { file, env: scope }, name, id);
      }
    }
    return out;
  }

  /**
   * Names, scope, when set and version (never values). Without `env`: every
   * scope of the app. With `env`: the scopes that apply to it ('default' and `env`).
   * Sorted by name, 'default' before an environment.
   */
  list(app: string, env?: string): SecretMeta[] {
    assertApp(app);
    const scopes = env === undefined ? listDir(appDir(this.dir, app)).filter((s) => SCOPE_RE.test(s)) : [...new Set([DEFAULT_ENV, normalizeEnv(env)])];
    const out: SecretMeta[] = [];
    for (const scope of scopes) {
      const dir = scopeDir(this.dir, app, scope);
      for (const entry of listDir(dir)) {
        if (!entry.endsWith(SECRET_EXT)) continue;
        const name = entry.slice(0, -SECRET_EXT.length);
        if (!SECRET_NAME_RE.test(name)) continue;
        const file = join(dir, entry);
        const bytes = readIfExists(file);
        if (!bytes) continue; // removed meanwhile
        out.push({ name, app, env: scope, setAt: statSync(file).mtime.toISOString(), version: versionOf(bytes) });
      }
    }
    const rank = (s: string): string => (s === DEFAULT_ENV ? '' : s);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : rank(a.env) < rank(b.env) ? -1 : rank(a.env) > rank(b.env) ? 1 : 0));
  }

  /** Remove the secret of exactly this scope (no fallback to 'default'); false when it was not set. */
  remove(app: string, env: string | undefined, name: string): boolean {
    const file = secretFile(this.dir, app, normalizeEnv(env), name);
    try {
      unlinkSync(file);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  /** The value; an env-scoped secret wins over the app-wide ('default') one. */
  async get(app: string, env: string | undefined, name: string): Promise<string> {
    return (await this.read(app, normalizeEnv(env), name)).value;
  }

  async resolve(app: string, env: string | undefined, names: string[]): Promise<{ values: Record<string, string>; versions: Record<string, string>; missing: string[] }> {
    assertApp(app);
    const scope = normalizeEnv(env);
    const values: Record<string, string> = {};
    const versions: Record<string, string> = {};
    const missing: string[] = [];
    for (const name of new Set(names)) {
      assertSecretName(name);
      const found = await this.tryRead(app, scope, name);
      if (!found) {
        missing.push(name);
        continue;
      }
      values[name] = found.value;
      versions[name] = found.version;
    }
    return { values, versions, missing };
  }

  /** Each declared secret exists and decrypts; problems are reported, not thrown. */
  async verify(app: string, env: string | undefined, names: string[]): Promise<SecretCheck[]> {
    assertApp(app);
    const scope = normalizeEnv(env);
    const out: SecretCheck[] = [];
    for (const name of new Set(names)) {
      try {
        await this.read(app, scope, name);
        out.push({ name, ok: true });
      } catch (e) {
        if (isGantryError(e)) out.push({ name, ok: false, problem: e.message, hint: e.hint });
        else out.push({ name, ok: false, problem: `cannot read ${name}: ${libReason(e)}` });
      }
    }
    return out;
  }

  // --- internals ---

  private describe(id: LoadedIdentity): string {
    return id.source === 'env' ? 'GANTRY_AGE_IDENTITY' : id.source === 'option' ? 'the store option' : (id.file ?? 'identity.txt');
  }

  private async identity(): Promise<LoadedIdentity | undefined> {
    if (!this.cached) this.cached = await loadIdentity(this.dir, this.explicitIdentity);
    return this.cached;
  }

  /** The identity to encrypt with; creates identity.txt only for a brand-new store. */
  private async identityForWrite(storeRecipient: string | undefined): Promise<LoadedIdentity> {
    const id = await this.identity();
    if (id) return id;
    if (storeRecipient || this.hasAnySecret()) throw noIdentityError(this.dir, 'encrypt new secrets for this store', storeRecipient);
    this.cached = await createIdentityFile(this.dir);
    return this.cached;
  }

  private hasAnySecret(): boolean {
    for (const app of listDir(this.dir)) {
      if (!SCOPE_RE.test(app)) continue;
      for (const scope of listDir(join(this.dir, app))) {
        if (listDir(join(this.dir, app, scope)).some((f) => f.endsWith(SECRET_EXT))) return true;
      }
    }
    return false;
  }

  private locate(app: string, scope: string, name: string): Located | undefined {
    const scopes = scope === DEFAULT_ENV ? [DEFAULT_ENV] : [scope, DEFAULT_ENV];
    for (const s of scopes) {
      const file = secretFile(this.dir, app, s, name);
      try {
        if (statSync(file).isFile()) return { file, env: s };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    return undefined;
  }

  private async read(app: string, scope: string, name: string): Promise<{ value: string; version: string; file: string }> {
    const found = await this.tryRead(app, scope, name);
    if (found) return found;
    const expected = secretFile(this.dir, app, scope, name);
    const where = scope === DEFAULT_ENV ? `app "${app}"` : `app "${app}" in environment "${scope}" (nor app-wide)`;
    throw new GantryError('SECRET_MISSING', `secret ${name} is not set for ${where}`, setCommand(name, scope), { app, env: scope, name, file: expected });
  }

  private async tryRead(app: string, scope: string, name: string): Promise<{ value: string; version: string; file: string } | undefined> {
    assertApp(app);
    assertSecretName(name);
    const found = this.locate(app, scope, name);
    if (!found) return undefined;
    const bytes = readIfExists(found.file);
    if (!bytes) return undefined;
    const id = await this.identity();
    if (!id) throw noIdentityError(this.dir, `decrypt ${found.file}`, readStoreRecipient(this.dir));
    const dec = new Decrypter();
    dec.addIdentity(id.identity);
    let value: string;
    try {
      value = await dec.decrypt(new Uint8Array(bytes), 'text');
    } catch (e) {
      throw this.decryptError(e, found, name, id);
    }
    return { value, version: versionOf(bytes), file: found.file };
  }

  private decryptError(e: unknown, found: Located, name: string, id: LoadedIdentity): GantryError {
    const storeRecipient = readStoreRecipient(this.dir);
    const details = { file: found.file, env: found.env, name };
    const noMatch = libReason(e).includes('no identity matched');
    if (noMatch && (!storeRecipient || storeRecipient !== id.recipient)) {
      return new GantryError('SECRET_DECRYPT_FAILED', `cannot decrypt ${found.file}: wrong identity?`, wrongIdentityHint(this.dir, id, storeRecipient), details);
    }
    const repair = `restore ${found.file} from a backup, or set it again: ${setCommand(name, found.env)}`;
    if (noMatch) {
      // The identity is the store's own key, so the file's header was changed or it was written for another key.
      return new GantryError('SECRET_DECRYPT_FAILED', `cannot decrypt ${found.file}: the file is damaged or was encrypted for another key (its header does not match ${RECIPIENT_FILE})`, repair, details);
    }
    return new GantryError('SECRET_DECRYPT_FAILED', `cannot decrypt ${found.file}: the file is damaged or truncated (${libReason(e)})`, repair, details);
  }
}
