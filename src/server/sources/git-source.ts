/**
 * Apps registered from a git repository (url + branch + path): the branch's head is checked out
 * under `<data>/sources/<app>/`, and the app is registered with the manifest found there, so every
 * operation reads that commit's manifest and builds from that commit's tree. A later head (a poll,
 * see ./source-watchers.ts) is checked out beside it and registered in its place.
 */
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import type { Kysely, Selectable } from 'kysely';
import { GantryError } from '../../core/errors.js';
import { loadManifest } from '../../manifest/index.js';
import { registerApp, LOAD_OPTS, type AppRow } from '../apps.js';
import type { GitSourcesTable, ServerDatabase } from '../db/schema.js';
import { ApiError } from '../http/api-error.js';
import { nowIso } from '../ids.js';
import { checkBranch, checkRepoUrl, fetchCommit, redactUrl, remoteBranchHead } from '../triggers/index.js';

export type GitSourceRow = Selectable<GitSourcesTable>;

export interface GitSourceSpec {
  url: string;
  branch: string;
  /** The app's directory in the repository, relative ('.' for the root). */
  path: string;
  /** Poll the branch (hosts that cannot receive webhooks); each new head deploys to `targets` (default: the first target). */
  watch?: { intervalMs: number; targets?: string[] };
}

/** Source checkouts kept per app: the registered one and the one before it (a job may still read it). */
const KEPT_CHECKOUTS = 2;

export const sourcesDir = (dataDir: string): string => join(dataDir, 'sources');

/** A path inside the repository: relative, normalised, never leaving it. */
export function checkRepoPath(path: string): string {
  const p = normalize(path || '.');
  if (isAbsolute(p) || p === '..' || p.startsWith(`..${sep}`) || p.includes('\0')) {
    throw new ApiError(400, 'USAGE', `git path ${JSON.stringify(path.slice(0, 200))} leaves the repository`, 'give the app\'s directory relative to the repository root, e.g. "apps/web" or "."');
  }
  return p;
}

/** `commit` of `spec` checked out into `<data>/sources/<app>/<sha12>-<time>` (the app's name read from its manifest there). */
export async function checkoutSource(dataDir: string, spec: Pick<GitSourceSpec, 'url' | 'branch' | 'path'>, commit: string): Promise<{ app: string; dir: string; manifestPath: string }> {
  const incoming = join(sourcesDir(dataDir), '.incoming');
  await mkdir(incoming, { recursive: true, mode: 0o700 });
  const fetched = await fetchCommit(spec.url, commit, { parentDir: incoming, ref: `refs/heads/${spec.branch}` });
  try {
    const manifestPath = join(fetched, spec.path, 'gantry.yaml');
    const exists = await stat(manifestPath).then(() => true, () => false);
    if (!exists) throw new GantryError('MANIFEST_NOT_FOUND', `commit ${commit.slice(0, 12)} of ${redactUrl(spec.url)} has no ${join(spec.path, 'gantry.yaml')}`, 'give the path of the app\'s directory in the repository (it holds gantry.yaml)');
    const app = loadManifest(manifestPath, LOAD_OPTS).manifest.app;
    const appDir = join(sourcesDir(dataDir), app);
    await mkdir(appDir, { recursive: true, mode: 0o700 });
    const dir = join(appDir, `${commit.slice(0, 12)}-${Date.now()}`);
    await rename(fetched, dir);
    return { app, dir, manifestPath: join(dir, spec.path, 'gantry.yaml') };
  } catch (e) {
    await rm(fetched, { recursive: true, force: true });
    throw e;
  }
}

/** The head of the spec's branch, or a clear error when the repository or branch is not there. */
export async function branchHead(spec: Pick<GitSourceSpec, 'url' | 'branch'>): Promise<string> {
  const head = await remoteBranchHead(spec.url, spec.branch);
  if (!head) throw new ApiError(400, 'GIT_BRANCH_NOT_FOUND', `${redactUrl(spec.url)} has no branch ${spec.branch}`, 'push the branch first, or name one the repository has');
  return head;
}

/** Register (or register again) an app from its repository's branch head. */
export async function registerFromGit(db: Kysely<ServerDatabase>, dataDir: string, projectId: string, spec: GitSourceSpec, maxApps: number): Promise<{ row: AppRow; source: GitSourceRow }> {
  checkRepoUrl(spec.url);
  checkBranch(spec.branch);
  const path = checkRepoPath(spec.path);
  const commit = await branchHead(spec);
  const co = await checkoutSource(dataDir, { ...spec, path }, commit);
  try {
    const row = await registerApp(db, projectId, { manifest_path: co.manifestPath }, maxApps);
    const source = await saveSource(db, row.name, { ...spec, path }, commit);
    await pruneCheckouts(dataDir, row.name, co.dir);
    return { row, source };
  } catch (e) {
    await rm(co.dir, { recursive: true, force: true });
    throw e;
  }
}

export async function saveSource(db: Kysely<ServerDatabase>, app: string, spec: GitSourceSpec, commit: string): Promise<GitSourceRow> {
  const row: GitSourceRow = {
    app,
    repo_url: spec.url,
    branch: spec.branch,
    path: spec.path,
    commit_sha: commit,
    watch_interval_ms: spec.watch?.intervalMs ?? null,
    watch_targets: spec.watch?.targets ? JSON.stringify(spec.watch.targets) : null,
    updated_at: nowIso(),
  };
  await db
    .insertInto('git_sources')
    .values(row)
    .onConflict((oc) => oc.column('app').doUpdateSet({ repo_url: row.repo_url, branch: row.branch, path: row.path, commit_sha: row.commit_sha, watch_interval_ms: row.watch_interval_ms, watch_targets: row.watch_targets, updated_at: row.updated_at }))
    .execute();
  return row;
}

export function readSource(db: Kysely<ServerDatabase>, app: string): Promise<GitSourceRow | undefined> {
  return db.selectFrom('git_sources').selectAll().where('app', '=', app).executeTakeFirst();
}

/**
 * Moves the registered commit from `from` to `to` only if it still is `from`: of several replicas
 * polling the same branch, exactly one takes each new head.
 */
export async function advanceSource(db: Kysely<ServerDatabase>, app: string, from: string, to: string): Promise<boolean> {
  const r = await db.updateTable('git_sources').set({ commit_sha: to, updated_at: nowIso() }).where('app', '=', app).where('commit_sha', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function forgetSource(db: Kysely<ServerDatabase>, dataDir: string, app: string): Promise<void> {
  await db.deleteFrom('git_sources').where('app', '=', app).execute();
  await rm(join(sourcesDir(dataDir), app), { recursive: true, force: true });
}

/** Keeps `current` and the newest others up to KEPT_CHECKOUTS; removes the rest. */
export async function pruneCheckouts(dataDir: string, app: string, current: string): Promise<void> {
  const appDir = join(sourcesDir(dataDir), app);
  const names = (await readdir(appDir).catch(() => [] as string[])).filter((n) => join(appDir, n) !== current);
  const dated = await Promise.all(names.map(async (n) => ({ n, at: (await stat(join(appDir, n))).mtimeMs })));
  dated.sort((a, b) => b.at - a.at);
  for (const { n } of dated.slice(KEPT_CHECKOUTS - 1)) await rm(join(appDir, n), { recursive: true, force: true });
}

/** What the API shows of a source (the url without credentials). */
export function sourceView(s: GitSourceRow) {
  return {
    url: redactUrl(s.repo_url),
    branch: s.branch,
    path: s.path,
    commit: s.commit_sha,
    watch: s.watch_interval_ms === null ? null : { interval_ms: s.watch_interval_ms, targets: s.watch_targets ? (JSON.parse(s.watch_targets) as string[]) : null },
    updated_at: s.updated_at,
  };
}
