/**
 * An app's git-push hook as the server keeps it: the branch -> targets map and the optional
 * repository url in the server's store (git_hooks), the shared secret age-encrypted in its own
 * secret store under `<data>/hook-secrets` (identity.txt there, 0600, or GANTRY_AGE_IDENTITY).
 * The secret must be recoverable (HMAC is verified with it), so it cannot be hashed; it lives
 * apart from the apps' secrets so no deployment can ever be given it.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { ServerDatabase } from '../db/schema.js';
import { nowIso } from '../ids.js';
import { SecretStore } from '../../secrets/index.js';
import type { GitHookConfig } from '../triggers/index.js';

const SECRET_NAME = 'GIT_HOOK_SECRET';

export const hookSecretsDir = (dataDir: string): string => join(dataDir, 'hook-secrets');

const stores = new Map<string, SecretStore>();
function secretStore(dataDir: string): SecretStore {
  let s = stores.get(dataDir);
  if (!s) stores.set(dataDir, (s = new SecretStore({ dir: hookSecretsDir(dataDir) })));
  return s;
}

/** A fresh secret for a hook: 32 random bytes, hex. */
export const newHookSecret = (): string => randomBytes(32).toString('hex');

export interface HookSettings {
  branches: Record<string, string[]>;
  repoUrl: string | null;
  updatedAt: string;
}

/** Store (or replace) the hook of an app: its settings in the db, its secret encrypted. */
export async function saveGitHook(db: Kysely<ServerDatabase>, dataDir: string, app: string, h: { secret: string; branches: Record<string, string[]>; repoUrl?: string }): Promise<HookSettings> {
  await secretStore(dataDir).set(app, undefined, SECRET_NAME, h.secret);
  const row = { app, branches: JSON.stringify(h.branches), repo_url: h.repoUrl ?? null, updated_at: nowIso() };
  await db
    .insertInto('git_hooks')
    .values(row)
    .onConflict((oc) => oc.column('app').doUpdateSet({ branches: row.branches, repo_url: row.repo_url, updated_at: row.updated_at }))
    .execute();
  return { branches: h.branches, repoUrl: row.repo_url, updatedAt: row.updated_at };
}

/** The hook's settings (never its secret), or undefined when the app has none. */
export async function hookSettings(db: Kysely<ServerDatabase>, app: string): Promise<HookSettings | undefined> {
  const row = await db.selectFrom('git_hooks').selectAll().where('app', '=', app).executeTakeFirst();
  if (!row) return undefined;
  return { branches: JSON.parse(row.branches) as Record<string, string[]>, repoUrl: row.repo_url, updatedAt: row.updated_at };
}

/** The whole config handleGitPush needs (secret included), or undefined when the app is not registered or has no hook. */
export async function readGitHook(db: Kysely<ServerDatabase>, dataDir: string, app: string): Promise<GitHookConfig | undefined> {
  const registered = await db.selectFrom('apps').select('name').where('name', '=', app).executeTakeFirst();
  if (!registered) return undefined;
  const s = await hookSettings(db, app);
  if (!s) return undefined;
  const store = secretStore(dataDir);
  if (!store.list(app).some((m) => m.name === SECRET_NAME)) return undefined;
  const secret = await store.get(app, undefined, SECRET_NAME);
  return { secret, branches: s.branches, ...(s.repoUrl ? { repoUrl: s.repoUrl } : {}) };
}

/** Forget an app's hook (settings and secret); false when it had none. */
export async function removeGitHook(db: Kysely<ServerDatabase>, dataDir: string, app: string): Promise<boolean> {
  const r = await db.deleteFrom('git_hooks').where('app', '=', app).executeTakeFirst();
  const hadSecret = secretStore(dataDir).remove(app, undefined, SECRET_NAME);
  return Number(r.numDeletedRows ?? 0) > 0 || hadSecret;
}
