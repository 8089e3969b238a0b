/**
 * API keys: `gk_<id>_<secret>`, random, shown once. Only a scrypt hash of the
 * secret is stored; verification compares in constant time.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash } from 'node:crypto';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import type { ApiKeysTable, Role, ServerDatabase } from '../db/schema.js';
import { newId, nowIso } from '../ids.js';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;
const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;

export const ROLES: readonly Role[] = ['viewer', 'deployer', 'admin'];
export const roleAtLeast = (have: Role, need: Role): boolean => ROLES.indexOf(have) >= ROLES.indexOf(need);

export type KeyInfo = Omit<ApiKeysTable, 'hash'>;

async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const h = await scrypt(secret, salt, KEY_LEN, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('hex')}$${h.toString('hex')}`;
}

async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltHex, hashHex] = stored.split('$');
  if (scheme !== 'scrypt' || !saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const got = await scrypt(secret, Buffer.from(saltHex, 'hex'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: PARAMS.maxmem });
  return got.length === expected.length && timingSafeEqual(got, expected);
}

const TOKEN_RE = /^gk_(key_[a-z2-7]{16})_([A-Za-z0-9_-]{43})$/;

export async function createKey(db: Kysely<ServerDatabase>, opts: { projectId: string | null; role: Role; name: string }): Promise<{ key: KeyInfo; token: string }> {
  const id = newId('key', 16);
  const secret = randomBytes(32).toString('base64url');
  const row: ApiKeysTable = { id, project_id: opts.projectId, role: opts.role, name: opts.name, hash: await hashSecret(secret), created_at: nowIso(), revoked_at: null, last_used_at: null };
  await db.insertInto('api_keys').values(row).execute();
  const { hash: _hash, ...key } = row;
  return { key, token: `gk_${id}_${secret}` };
}

export async function listKeys(db: Kysely<ServerDatabase>, projectId?: string | null): Promise<KeyInfo[]> {
  let q = db.selectFrom('api_keys').select(['id', 'project_id', 'role', 'name', 'created_at', 'revoked_at', 'last_used_at']).orderBy('created_at');
  if (projectId) q = q.where('project_id', '=', projectId);
  return q.execute();
}

export async function revokeKey(db: Kysely<ServerDatabase>, id: string, projectId?: string | null): Promise<boolean> {
  let q = db.updateTable('api_keys').set({ revoked_at: nowIso() }).where('id', '=', id).where('revoked_at', 'is', null);
  if (projectId) q = q.where('project_id', '=', projectId);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Check a bearer token. A verified token is cached (by its sha256, never the token)
 * for `cacheMs`, so a busy client costs one scrypt per window, not per request.
 */
export class KeyVerifier {
  private readonly cache = new Map<string, { key: KeyInfo; until: number }>();
  constructor(
    private readonly db: Kysely<ServerDatabase>,
    private readonly cacheMs: number,
  ) {}

  async verify(token: string): Promise<KeyInfo | undefined> {
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const digest = createHash('sha256').update(token).digest('hex');
    const hit = this.cache.get(digest);
    if (hit && hit.until > Date.now()) return hit.key;
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', m[1]!).executeTakeFirst();
    if (!row || row.revoked_at || !(await verifySecret(m[2]!, row.hash))) return undefined;
    const { hash: _hash, ...key } = row;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(digest, { key, until: Date.now() + this.cacheMs });
    void this.db.updateTable('api_keys').set({ last_used_at: nowIso() }).where('id', '=', key.id).execute().catch(() => undefined);
    return key;
  }

  /** A revoked key stops working at once in this process. */
  forget(id: string): void {
    for (const [k, v] of this.cache) if (v.key.id === id) this.cache.delete(k);
  }
}
