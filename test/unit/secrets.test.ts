import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateX25519Identity } from 'age-encryption';
import { SecretStore } from '../../src/secrets/index.js';
import { GantryError } from '../../src/core/errors.js';

const modeOf = (p: string): number => statSync(p).mode & 0o777;
const posix = process.platform !== 'win32';

function allFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else out.push(p);
  }
  return out;
}

async function caught(p: Promise<unknown>): Promise<GantryError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GantryError);
    return e as GantryError;
  }
  throw new Error('expected a GantryError');
}

let root: string;
let dir: string;
beforeEach(() => {
  vi.stubEnv('GANTRY_AGE_IDENTITY', '');
  root = mkdtempSync(join(tmpdir(), 'gantry-secrets-'));
  dir = join(root, '.gantry', 'secrets');
});
afterEach(() => {
  vi.unstubAllEnvs();
  rmSync(root, { recursive: true, force: true });
});

describe('SecretStore', () => {
  it('round-trips a value through a binary age file', async () => {
    const s = new SecretStore({ dir });
    const value = 'postgres://u:p@h/db\nline two ✓';
    const meta = await s.set('hello', undefined, 'DATABASE_URL', value);
    expect(meta).toMatchObject({ name: 'DATABASE_URL', app: 'hello', env: 'default' });
    expect(meta.version).toMatch(/^[0-9a-f]{12}$/);
    expect(Number.isNaN(Date.parse(meta.setAt))).toBe(false);
    const file = join(dir, 'hello', 'default', 'DATABASE_URL.age');
    expect(readFileSync(file).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(await s.get('hello', undefined, 'DATABASE_URL')).toBe(value);
    // A fresh instance reads the identity file created by the first set.
    expect(await new SecretStore({ dir }).get('hello', undefined, 'DATABASE_URL')).toBe(value);
    expect(readFileSync(join(dir, 'identity.txt'), 'utf8')).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/m);
  });

  it('lists names and versions, never values; files 0600, directories 0700, identity 0600', async () => {
    const s = new SecretStore({ dir });
    const a = await s.set('hello', undefined, 'API_KEY', 'sekrit-value-1');
    await s.set('hello', 'staging', 'API_KEY', 'sekrit-value-2');
    await s.set('hello', undefined, 'B_TOKEN', 'sekrit-value-3');
    const list = s.list('hello');
    expect(list.map((m) => `${m.name}@${m.env}`)).toEqual(['API_KEY@default', 'API_KEY@staging', 'B_TOKEN@default']);
    expect(JSON.stringify(list)).not.toContain('sekrit');
    for (const m of list) expect(Object.keys(m).sort()).toEqual(['app', 'env', 'name', 'setAt', 'version']);
    expect(list[0].version).toBe(a.version);
    expect(s.list('hello', 'production').map((m) => m.name)).toEqual(['API_KEY', 'B_TOKEN']);
    expect(s.list('other')).toEqual([]);

    // Every set re-encrypts: the version changes even for the same value.
    const again = await s.set('hello', undefined, 'API_KEY', 'sekrit-value-1');
    expect(again.version).not.toBe(a.version);

    if (posix) {
      expect(modeOf(dir)).toBe(0o700);
      expect(modeOf(join(dir, 'hello'))).toBe(0o700);
      expect(modeOf(join(dir, 'hello', 'staging'))).toBe(0o700);
      expect(modeOf(join(dir, 'identity.txt'))).toBe(0o600);
      for (const f of allFiles(dir)) expect(modeOf(f), f).toBe(0o600);
    }
    // No temporary files left behind.
    expect(allFiles(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an env-scoped secret overrides the app-wide one; other envs fall back to default', async () => {
    const s = new SecretStore({ dir });
    await s.set('hello', undefined, 'LOG_TOKEN', 'app-wide');
    await s.set('hello', 'production', 'LOG_TOKEN', 'prod-only');
    expect(await s.get('hello', 'production', 'LOG_TOKEN')).toBe('prod-only');
    expect(await s.get('hello', 'staging', 'LOG_TOKEN')).toBe('app-wide');
    expect(await s.get('hello', undefined, 'LOG_TOKEN')).toBe('app-wide');
    expect(await s.get('hello', 'default', 'LOG_TOKEN')).toBe('app-wide');
    const r = await s.resolve('hello', 'production', ['LOG_TOKEN']);
    expect(r.versions.LOG_TOKEN).toBe(s.list('hello', 'production').find((m) => m.env === 'production')!.version);
  });

  it('removes exactly one scope', async () => {
    const s = new SecretStore({ dir });
    await s.set('hello', undefined, 'TOKEN', 'a');
    await s.set('hello', 'staging', 'TOKEN', 'b');
    expect(s.remove('hello', 'staging', 'TOKEN')).toBe(true);
    expect(s.remove('hello', 'staging', 'TOKEN')).toBe(false);
    expect(await s.get('hello', 'staging', 'TOKEN')).toBe('a');
    expect(s.remove('hello', undefined, 'TOKEN')).toBe(true);
    expect(s.list('hello')).toEqual([]);
    const e = await caught(s.get('hello', 'staging', 'TOKEN'));
    expect(e.code).toBe('SECRET_MISSING');
  });

  it('a missing secret is SECRET_MISSING with the exact command as hint', async () => {
    const s = new SecretStore({ dir });
    const e1 = await caught(s.get('hello', undefined, 'DATABASE_URL'));
    expect(e1.code).toBe('SECRET_MISSING');
    expect(e1.hint).toBe('printf %s VALUE | gantry secrets set DATABASE_URL');
    const e2 = await caught(s.get('hello', 'staging', 'DATABASE_URL'));
    expect(e2.hint).toBe('printf %s VALUE | gantry secrets set DATABASE_URL --env staging');
    expect(existsSync(dir)).toBe(false); // reading creates nothing
  });

  it('a wrong identity (constructor option) is SECRET_DECRYPT_FAILED naming the file, and changes nothing', async () => {
    await new SecretStore({ dir }).set('hello', undefined, 'API_KEY', 'v');
    const file = join(dir, 'hello', 'default', 'API_KEY.age');
    const before = readFileSync(file);
    const other = new SecretStore({ dir, identity: await generateX25519Identity() });
    const e = await caught(other.get('hello', undefined, 'API_KEY'));
    expect(e.code).toBe('SECRET_DECRYPT_FAILED');
    expect(e.message).toBe(`cannot decrypt ${file}: wrong identity?`);
    expect(e.hint).toContain('GANTRY_AGE_IDENTITY');
    // Writing with the wrong key is refused too, so the store never mixes keys.
    const w = await caught(other.set('hello', undefined, 'API_KEY', 'new'));
    expect(w.code).toBe('SECRET_IDENTITY');
    const w2 = await caught(other.set('hello', undefined, 'OTHER', 'new'));
    expect(w2.code).toBe('SECRET_IDENTITY');
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(join(dir, 'hello', 'default', 'OTHER.age'))).toBe(false);
  });

  it('GANTRY_AGE_IDENTITY is used when set; no identity file is written', async () => {
    const id = await generateX25519Identity();
    vi.stubEnv('GANTRY_AGE_IDENTITY', id);
    const s = new SecretStore({ dir });
    await s.set('hello', undefined, 'API_KEY', 'v');
    expect(existsSync(join(dir, 'identity.txt'))).toBe(false);
    expect(await new SecretStore({ dir, identity: id }).get('hello', undefined, 'API_KEY')).toBe('v');
    vi.stubEnv('GANTRY_AGE_IDENTITY', await generateX25519Identity());
    const e = await caught(new SecretStore({ dir }).get('hello', undefined, 'API_KEY'));
    expect(e.code).toBe('SECRET_DECRYPT_FAILED');
    expect(e.hint).toMatch(/GANTRY_AGE_IDENTITY holds another key/);
    vi.stubEnv('GANTRY_AGE_IDENTITY', 'AGE-SECRET-KEY-1NOTAKEY');
    const bad = await caught(new SecretStore({ dir }).get('hello', undefined, 'API_KEY'));
    expect(bad.code).toBe('SECRET_IDENTITY');
    expect(bad.message).not.toContain('NOTAKEY');
  });

  it('a lost identity file is reported, never silently replaced by a new key', async () => {
    await new SecretStore({ dir }).set('hello', undefined, 'API_KEY', 'v');
    unlinkSync(join(dir, 'identity.txt'));
    const s = new SecretStore({ dir });
    expect((await caught(s.get('hello', undefined, 'API_KEY'))).code).toBe('SECRET_IDENTITY');
    expect((await caught(s.set('hello', undefined, 'NEW_ONE', 'v'))).code).toBe('SECRET_IDENTITY');
    expect(existsSync(join(dir, 'identity.txt'))).toBe(false);
  });

  it('a flipped byte (header or payload) is SECRET_DECRYPT_FAILED naming the file', async () => {
    const s = new SecretStore({ dir });
    await s.set('hello', undefined, 'API_KEY', 'some secret value');
    const file = join(dir, 'hello', 'default', 'API_KEY.age');
    const original = readFileSync(file);
    const headerEnd = original.indexOf('\n---') + 1;
    for (const at of [5, Math.floor(headerEnd / 2), original.length - 3]) {
      const bytes = Buffer.from(original);
      bytes[at] ^= 0x01;
      writeFileSync(file, bytes);
      const e = await caught(s.get('hello', undefined, 'API_KEY'));
      expect(e.code, `byte ${at}`).toBe('SECRET_DECRYPT_FAILED');
      expect(e.message).toContain(file);
      expect(e.message).not.toContain('wrong identity'); // the identity is the store's own
      expect(e.hint).toContain(file);
      expect(readFileSync(file).equals(bytes)).toBe(true); // left as found
    }
  });

  it('a truncated file is SECRET_DECRYPT_FAILED naming the file', async () => {
    const s = new SecretStore({ dir });
    await s.set('hello', undefined, 'API_KEY', 'some secret value');
    const file = join(dir, 'hello', 'default', 'API_KEY.age');
    const size = statSync(file).size;
    for (const len of [size - 1, size - 20, 30, 0]) {
      truncateSync(file, len);
      const e = await caught(s.get('hello', undefined, 'API_KEY'));
      expect(e.code, `length ${len}`).toBe('SECRET_DECRYPT_FAILED');
      expect(e.message).toContain(file);
    }
  });

  it('resolve returns values and versions and reports what is missing', async () => {
    const s = new SecretStore({ dir });
    const a = await s.set('hello', undefined, 'A', '1');
    const b = await s.set('hello', 'staging', 'B', '2');
    const r = await s.resolve('hello', 'staging', ['A', 'B', 'C', 'A']);
    expect(r.values).toEqual({ A: '1', B: '2' });
    expect(r.versions).toEqual({ A: a.version, B: b.version });
    expect(r.missing).toEqual(['C']);
    expect((await s.resolve('hello', undefined, ['A', 'B'])).missing).toEqual(['B']);
  });

  it('verify reports each declared secret: present and decrypting, missing, damaged', async () => {
    const s = new SecretStore({ dir });
    await s.set('hello', undefined, 'GOOD', 'x');
    await s.set('hello', undefined, 'BROKEN', 'y');
    truncateSync(join(dir, 'hello', 'default', 'BROKEN.age'), 40);
    const v = await s.verify('hello', 'staging', ['GOOD', 'MISSING', 'BROKEN', 'bad-name']);
    expect(v.map((c) => [c.name, c.ok])).toEqual([['GOOD', true], ['MISSING', false], ['BROKEN', false], ['bad-name', false]]);
    expect(v[1].hint).toBe('printf %s VALUE | gantry secrets set MISSING --env staging');
    expect(v[2].problem).toContain('BROKEN.age');
    expect(v[3].problem).toMatch(/invalid secret name/);
  });

  it('the plaintext appears in no file under the store', async () => {
    const s = new SecretStore({ dir });
    const value = 'PLAINTEXT-CANARY-4f1c9e';
    await s.set('hello', undefined, 'API_KEY', value);
    await s.set('hello', 'production', 'API_KEY', value);
    s.list('hello');
    await s.verify('hello', 'production', ['API_KEY']);
    const files = allFiles(root);
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) {
      const bytes = readFileSync(f);
      expect(bytes.includes(Buffer.from(value)), f).toBe(false);
      expect(bytes.includes(Buffer.from(value, 'utf16le')), f).toBe(false);
    }
  });

  it('validates app, env and name before they touch a path; errors never carry the value', async () => {
    const s = new SecretStore({ dir });
    for (const [app, env, name] of [['../x', undefined, 'A'], ['Hello', undefined, 'A'], ['hello', '../../etc', 'A'], ['hello', 'Prod', 'A'], ['hello', undefined, '../A'], ['hello', undefined, 'lower'], ['hello', undefined, '1ABC']] as const) {
      const e = await caught(s.set(app, env, name, 'VALUE-NEVER-SHOWN'));
      expect(e.code).toBe('USAGE');
      expect(`${e.message} ${e.hint}`).not.toContain('VALUE-NEVER-SHOWN');
    }
    expect((await caught(s.set('hello', undefined, 'EMPTY', ''))).code).toBe('USAGE');
    expect(() => s.list('../..')).toThrow(GantryError);
    expect(() => s.remove('hello', undefined, '../../identity')).toThrow(GantryError);
    expect(existsSync(dir)).toBe(false);
  });
});
