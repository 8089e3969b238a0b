/**
 * Issue 18, triggers: a signed git push to a real local bare repository deploys exactly the
 * pushed commit (the real CLI on the process target, answered over real HTTP); an unsigned,
 * wrongly signed, replayed or malformed delivery deploys nothing.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BranchWatcher,
  KyselyReplayStore,
  MemoryReplayStore,
  createReplayTable,
  fetchCommit,
  handleGitPush,
  hmacSha256Header,
  remoteBranchHead,
  type GitPushDeps,
  type ReplayStore,
} from '../../src/server/triggers/index.js';
import { ROOT, gantry, killAgents } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { createTestDatabase, postgresProblem } from '../helpers/postgres.js';

const SECRET = `hook-secret-${randomBytes(8).toString('hex')}`;
const APP = `hook-hello-${randomBytes(3).toString('hex')}`;
const root = mkdtempSync(join(tmpdir(), 'gantry-git-push-'));
const bare = join(root, 'repo.git');
const work = join(root, 'work');
const fetched: string[] = [];

function git(cwd: string, args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Gantry Test', '-c', 'user.email=test@gantry.invalid', ...args], { cwd, encoding: 'utf8' }).trim();
}

/** Commit the work tree with this greeting and push it to the bare repository's main; returns the sha. */
function commitGreeting(greeting: string): string {
  const file = join(work, 'gantry.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/GREETING: .*/, `GREETING: ${greeting}`));
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', greeting]);
  git(work, ['push', '-q', bare, 'HEAD:refs/heads/main']);
  return git(work, ['rev-parse', 'HEAD']);
}

function githubPush(commit: string, opts: { secret?: string; delivery?: string; ref?: string; body?: string; event?: string } = {}) {
  const rawBody = Buffer.from(opts.body ?? JSON.stringify({ ref: opts.ref ?? 'refs/heads/main', after: commit, repository: { clone_url: bare, full_name: 'team/hello' } }));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'X-GitHub-Event': opts.event ?? 'push', 'X-GitHub-Delivery': opts.delivery ?? randomBytes(16).toString('hex') };
  if (opts.secret !== undefined) headers['X-Hub-Signature-256'] = hmacSha256Header(opts.secret, rawBody);
  return { app: APP, headers, rawBody };
}

function gitlabPush(commit: string, opts: { token?: string; delivery?: string } = {}) {
  const rawBody = Buffer.from(JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', checkout_sha: commit, project: { git_http_url: bare } }));
  const headers: Record<string, string> = { 'X-Gitlab-Event': 'Push Hook', 'X-Gitlab-Event-UUID': opts.delivery ?? randomBytes(16).toString('hex') };
  if (opts.token !== undefined) headers['X-Gitlab-Token'] = opts.token;
  return { app: APP, headers, rawBody };
}

/** Deps whose deploy runs the real CLI on the fetched tree (process target) and records what ran. */
function realDeps(replay: ReplayStore = new MemoryReplayStore()) {
  const deployed: { target: string; dir: string; commit: string; url?: string; status?: string }[] = [];
  const fetches: string[] = [];
  const deps: GitPushDeps = {
    hook: (app) => (app === APP ? { secret: SECRET, branches: { main: ['local'] } } : undefined),
    replay,
    fetchCommit: async (url, commit, ref) => {
      fetches.push(commit);
      const dir = await fetchCommit(url, commit, { ref, parentDir: root });
      fetched.push(dir);
      return dir;
    },
    deploy: async (_app, target, dir, commit) => {
      const r = await gantry(['deploy', '-f', join(dir, 'gantry.yaml'), '-t', target, '--json'], { cwd: dir });
      if (r.code !== 0) throw new Error(`deploy failed (${r.code}): ${r.stderr || r.stdout}`);
      deployed.push({ target, dir, commit, url: r.json.url, status: r.json.status });
      return { release: r.json.release, status: r.json.status, url: r.json.url };
    },
  };
  return { deps, deployed, fetches };
}

let commitA: string;
let commitB: string;

beforeAll(() => {
  git(root, ['init', '-q', '--bare', '-b', 'main', bare]);
  cpSync(join(ROOT, 'examples/hello-node'), work, { recursive: true, filter: (src) => !src.includes('.gantry') });
  const file = join(work, 'gantry.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^app: .*/m, `app: ${APP}`).replace(/instances: 2/, 'instances: 1').replace(/watch: 3s/, 'watch: 1s'));
  git(work, ['init', '-q', '-b', 'main']);
  commitA = commitGreeting('hello from commit A');
  // The branch moves on: a push payload still names A, and A is what must be deployed.
  commitB = commitGreeting('hello from commit B');
});

afterAll(async () => {
  for (const dir of fetched) {
    if (existsSync(join(dir, '.gantry'))) {
      await gantry(['stop', '-f', join(dir, 'gantry.yaml'), '--json'], { cwd: dir }).catch(() => undefined);
      killAgents(dir);
    }
  }
  rmSync(root, { recursive: true, force: true });
});

describe('git push trigger (real bare repository, real CLI, process target)', () => {
  it('a signed GitHub push deploys exactly the pushed commit, and the app answers over HTTP with that commit\'s config', async () => {
    const { deps, deployed } = realDeps();
    const res = await handleGitPush(githubPush(commitA, { secret: SECRET }), deps);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    expect(res.body).toMatchObject({ app: APP, branch: 'main', commit: commitA, provider: 'github', deployments: [{ target: 'local', result: { status: 'succeeded' } }] });
    expect(deployed).toHaveLength(1);
    const dir = deployed[0].dir;
    expect(git(dir, ['rev-parse', 'HEAD'])).toBe(commitA);
    const answer = await getJson(deployed[0].url + '/');
    expect(answer.message).toBe('hello from commit A'); // not B, the branch's head
  });

  it('an unsigned push gets 401 and nothing is fetched or deployed; a wrong signature too', async () => {
    const { deps, deployed, fetches } = realDeps();
    const unsigned = await handleGitPush(githubPush(commitB), deps);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatchObject({ error: { code: 'UNAUTHORIZED', message: 'the request is not signed' } });
    const wrong = await handleGitPush(githubPush(commitB, { secret: 'not-the-secret' }), deps);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: { message: 'the signature does not match' } });
    // Signed for another body: the signature covers every byte.
    const req = githubPush(commitB, { secret: SECRET });
    const tampered = { ...req, rawBody: Buffer.from(req.rawBody.toString().replace('team/hello', 'team/other')) };
    expect((await handleGitPush(tampered, deps)).status).toBe(401);
    // No headers of any provider at all.
    expect((await handleGitPush({ app: APP, headers: {}, rawBody: req.rawBody }, deps)).status).toBe(401);
    expect(JSON.stringify([unsigned.body, wrong.body])).not.toContain(SECRET);
    expect(fetches).toEqual([]);
    expect(deployed).toEqual([]);
  });

  it('a replayed delivery id gets 409 and deploys nothing the second time', async () => {
    const { deps, deployed } = realDeps();
    // A branch mapped to nothing: accepted (202 ignored), which records the delivery id without deploying.
    deps.hook = () => ({ secret: SECRET, branches: { main: ['local'] } });
    const delivery = randomBytes(16).toString('hex');
    const first = await handleGitPush(githubPush(commitB, { secret: SECRET, delivery, ref: 'refs/heads/feature' }), deps);
    expect(first).toMatchObject({ status: 202, body: { ignored: true, reason: 'branch feature is mapped to no target' } });
    const again = await handleGitPush(githubPush(commitB, { secret: SECRET, delivery }), deps);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: { code: 'CONFLICT' } });
    expect(deployed).toEqual([]);
  });

  it('malformed JSON, a non-push payload, an unknown app, a tag and a deleted branch deploy nothing', async () => {
    const { deps, deployed, fetches } = realDeps();
    const bad = await handleGitPush(githubPush(commitB, { secret: SECRET, body: '{"ref": "refs/heads/main", ' }), deps);
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });
    const badSha = await handleGitPush(githubPush(commitB, { secret: SECRET, body: JSON.stringify({ ref: 'refs/heads/main', after: '--upload-pack=touch /tmp/x' }) }), deps);
    expect(badSha.status).toBe(400);
    expect((await handleGitPush(githubPush(commitB, { secret: SECRET, body: '[1,2]' }), deps)).status).toBe(400);
    expect((await handleGitPush({ ...githubPush(commitB, { secret: SECRET }), app: 'no-such-app' }, deps)).status).toBe(404);
    expect((await handleGitPush(githubPush(commitB, { secret: SECRET, ref: 'refs/tags/v1' }), deps)).body).toMatchObject({ ignored: true });
    expect((await handleGitPush(githubPush('0'.repeat(40), { secret: SECRET }), deps)).body).toMatchObject({ ignored: true, reason: 'branch main was deleted' });
    expect(await handleGitPush(githubPush(commitB, { secret: SECRET, event: 'ping' }), deps)).toMatchObject({ status: 200 });
    expect((await handleGitPush(githubPush(commitB, { secret: SECRET, event: 'issues' }), deps)).body).toMatchObject({ ignored: true });
    expect(fetches).toEqual([]);
    expect(deployed).toEqual([]);
  });

  it('GitLab: the token is checked (401 without, 401 wrong) and a Push Hook is fetched at checkout_sha', async () => {
    const { deps, deployed, fetches } = realDeps();
    deps.deploy = async (_app, target, dir, commit) => {
      deployed.push({ target, dir, commit });
      return { queued: true }; // the fetched tree is what is checked here; the CLI deploy is proven above
    };
    expect((await handleGitPush(gitlabPush(commitB), deps)).status).toBe(401);
    expect((await handleGitPush(gitlabPush(commitB, { token: `${SECRET}x` }), deps)).status).toBe(401);
    expect(fetches).toEqual([]);
    const delivery = randomBytes(8).toString('hex');
    const ok = await handleGitPush(gitlabPush(commitB, { token: SECRET, delivery }), deps);
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(deployed).toHaveLength(1);
    expect(git(deployed[0].dir, ['rev-parse', 'HEAD'])).toBe(commitB);
    expect(readFileSync(join(deployed[0].dir, 'gantry.yaml'), 'utf8')).toContain('hello from commit B');
    expect((await handleGitPush(gitlabPush(commitB, { token: SECRET, delivery }), deps)).status).toBe(409);
  });

  it('a fetch failure answers 502, deploys nothing, and lets the sender redeliver the same id', async () => {
    const { deps, deployed } = realDeps();
    const missing = 'f'.repeat(40);
    const delivery = randomBytes(8).toString('hex');
    const r = await handleGitPush(githubPush(missing, { secret: SECRET, delivery }), deps);
    expect(r.status).toBe(502);
    expect(r.body).toMatchObject({ error: { code: 'GIT_FETCH_FAILED' } });
    expect(deployed).toEqual([]);
    // The redelivery (same id) is taken, not refused as a replay (it fails the same way here).
    expect((await handleGitPush(githubPush(missing, { secret: SECRET, delivery }), deps)).status).toBe(502);
  });

  it('the registered repository is fetched, never the url a payload names; credentials in a url never reach the answer', async () => {
    const { deps, deployed, fetches } = realDeps();
    deps.deploy = async (_app, target, dir, commit) => void deployed.push({ target, dir, commit });
    deps.hook = () => ({ secret: SECRET, branches: { main: ['local'] }, repoUrl: bare });
    const body = JSON.stringify({ ref: 'refs/heads/main', after: commitB, repository: { clone_url: '/nonexistent/elsewhere.git' } });
    const ok = await handleGitPush(githubPush(commitB, { secret: SECRET, body }), deps);
    expect(ok.status, JSON.stringify(ok.body)).toBe(202);
    expect(git(deployed[0].dir, ['rev-parse', 'HEAD'])).toBe(commitB);

    deps.hook = () => ({ secret: SECRET, branches: { main: ['local'] } });
    const leaky = JSON.stringify({ ref: 'refs/heads/main', after: commitB, repository: { clone_url: 'http://deploy:tok3n-tok3n@127.0.0.1:1/x.git' } });
    const r = await handleGitPush(githubPush(commitB, { secret: SECRET, body: leaky }), deps);
    expect(r.status).toBe(502);
    expect(JSON.stringify(r.body)).not.toContain('tok3n');
    expect(fetches).toHaveLength(2);
    expect(deployed).toHaveLength(1);
  });
});

describe('fetchCommit and the branch watcher (git CLI through argv)', () => {
  it('refuses a sha that is not 40 hex and a url that looks like an option, before running git', async () => {
    await expect(fetchCommit(bare, 'HEAD')).rejects.toMatchObject({ code: 'USAGE' });
    await expect(fetchCommit(bare, `${commitA.slice(0, 39)}g`)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(fetchCommit('--upload-pack=touch /tmp/pwned', commitA)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(remoteBranchHead(bare, '--help')).rejects.toMatchObject({ code: 'USAGE' });
    expect(await remoteBranchHead(bare, 'main')).toBe(commitB);
    expect(await remoteBranchHead(bare, 'nope')).toBeUndefined();
  });

  it('a remote that serves only advertised refs (protocol v0): the pushed branch is fetched and the commit found in it', async () => {
    const env = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'protocol.version', GIT_CONFIG_VALUE_0: '0' };
    Object.assign(process.env, env);
    try {
      // commitA is no branch head any more: a v0 server refuses it by id.
      await expect(fetchCommit(bare, commitA, { parentDir: root })).rejects.toMatchObject({ code: 'GIT_FETCH_FAILED' });
      const dir = await fetchCommit(bare, commitA, { parentDir: root, ref: 'refs/heads/main' });
      fetched.push(dir);
      expect(git(dir, ['rev-parse', 'HEAD'])).toBe(commitA);
      expect(readFileSync(join(dir, 'gantry.yaml'), 'utf8')).toContain('hello from commit A');
    } finally {
      for (const k of Object.keys(env)) delete process.env[k];
    }
  });

  it('watch: polls with git ls-remote and deploys each new head once', async () => {
    const seen: string[] = [];
    const watcher = new BranchWatcher({ repoUrl: bare, branch: 'main', intervalMs: 100, lastCommit: commitB, onCommit: async (c) => void seen.push(c) });
    watcher.start();
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toEqual([]); // nothing new
    const commitC = commitGreeting('hello from commit C');
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    await watcher.stop();
    expect(seen).toEqual([commitC]);
    expect(watcher.lastCommit).toBe(commitC);
    // Stopped: a further push is not seen.
    commitGreeting('hello from commit D');
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([commitC]);
  });

  it('watch with nothing deployed yet (lastCommit: null) deploys the head it finds; a failed deploy is not retried every interval', async () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const head = await remoteBranchHead(bare, 'main');
    const watcher = new BranchWatcher({
      repoUrl: bare,
      branch: 'main',
      intervalMs: 50,
      lastCommit: null,
      onCommit: async (c) => {
        seen.push(c);
        throw new Error('deploy failed');
      },
      onError: (e) => errors.push(e),
    });
    watcher.start();
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 400)); // several more polls
    await watcher.stop();
    expect(seen).toEqual([head]);
    expect(errors).toHaveLength(1);
  });
});

describe('replay stores', () => {
  const scenario = async (store: ReplayStore) => {
    expect(await store.remember('git:a', 'd1', 1_000)).toBe(true);
    expect(await store.remember('git:a', 'd1', 1_001)).toBe(false);
    expect(await store.remember('git:b', 'd1', 1_002)).toBe(true); // another app's hook
    // Concurrent deliveries of one id: exactly one is taken.
    const race = await Promise.all(Array.from({ length: 8 }, () => store.remember('git:a', 'd2', 1_003)));
    expect(race.filter(Boolean)).toHaveLength(1);
    await store.forget('git:a', 'd2');
    expect(await store.remember('git:a', 'd2', 1_004)).toBe(true);
  };

  it('in memory', async () => {
    await scenario(new MemoryReplayStore());
    const short = new MemoryReplayStore(100);
    expect(await short.remember('s', 'x', 0)).toBe(true);
    expect(await short.remember('s', 'x', 200)).toBe(true); // expired, forgotten
  });

  it('kysely on SQLite', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new Database(join(root, 'replay.db')) }) });
    await createReplayTable(db);
    await createReplayTable(db);
    await scenario(new KyselyReplayStore(db));
    await db.destroy();
  });

  it.skipIf(postgresProblem)(`kysely on PostgreSQL ${postgresProblem ?? ''}`, async () => {
    const tdb = await createTestDatabase();
    const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: tdb.url, max: 4 }) }) });
    try {
      await createReplayTable(db);
      await scenario(new KyselyReplayStore(db));
    } finally {
      await db.destroy();
      await tdb.drop();
    }
  });
});
