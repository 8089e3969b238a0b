/**
 * Issue 18: apps registered from a git URL + branch + path. The server checks the branch head out
 * under its data dir and registers the app with the manifest found at the path; a deploy builds
 * that commit. With `watch`, the branch is polled: a new commit pushed to a local bare repository
 * is registered and deployed without any webhook. Bad sources are refused with clear errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvgit-hello';
const SUBDIR = 'services/web';
let srv: ServerProc;
let admin: string;
let bare: string;
let work: string;

const manifest = (greeting: string): string =>
  [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', `env: { GREETING: ${JSON.stringify(greeting)} }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n');

const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-c', 'user.name=gantry-test', '-c', 'user.email=test@127.0.0.1', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim();

function commitAndPush(greeting: string): string {
  writeFileSync(join(work, SUBDIR, 'gantry.yaml'), manifest(greeting));
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', greeting);
  git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  return git(work, 'rev-parse', 'HEAD');
}

async function deploymentsOf(): Promise<any[]> {
  return (await api(srv.url, 'GET', `/api/v1/apps/${APP}/deployments`, { token: admin })).body.deployments;
}

beforeAll(async () => {
  bare = join(mkdtempSync(join(tmpdir(), 'gantry-src-repo-')), 'hello.git');
  execFileSync('git', ['init', '-q', '--bare', bare]);
  work = mkdtempSync(join(tmpdir(), 'gantry-src-work-'));
  mkdirSync(join(work, 'services'), { recursive: true });
  cpSync(copyExample('hello-node'), join(work, SUBDIR), { recursive: true });
  writeFileSync(join(work, 'README'), 'a monorepo: the app is in services/web\n');
  git(work, 'init', '-q');
  git(work, 'remote', 'add', 'origin', bare);
  srv = await startServer();
  admin = await makeKey(srv.dataDir, 'admin');
  expect((await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'gitsrc' } })).status).toBe(201);
});

afterAll(async () => {
  if (srv && admin) await api(srv.url, 'POST', `/api/v1/apps/${APP}/stop`, { token: admin, body: {} }).then((r) => (r.status === 202 ? waitFinal(srv.url, admin, r.body.id) : undefined)).catch(() => undefined);
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

describe('apps registered from a git repository', () => {
  it('bad sources are refused with a clear error and register nothing', async () => {
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ url: bare, branch: 'nope' }, 400, /has no branch nope/],
      [{ url: '--upload-pack=touch /tmp/x' }, 400, /not a usable git repository url/],
      [{ url: bare, branch: 'main', path: '../../etc' }, 400, /leaves the repository/],
      [{ url: bare, branch: 'main', watch: { interval: 'often' } }, 400, /not a duration/],
    ];
    commitAndPush('first');
    for (const [git, status, message] of cases) {
      const r = await api(srv.url, 'POST', '/api/v1/projects/gitsrc/apps', { token: admin, body: { git: { path: SUBDIR, ...git } } });
      expect(r.status, r.text).toBe(status);
      expect(r.body.error.message).toMatch(message);
    }
    const noManifest = await api(srv.url, 'POST', '/api/v1/projects/gitsrc/apps', { token: admin, body: { git: { url: bare, path: 'services' } } });
    expect(noManifest.status, noManifest.text).toBe(404);
    expect(noManifest.body.error.message).toMatch(/has no services\/gantry\.yaml/);
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token: admin })).body.apps).toEqual([]);
    // Nothing half-made is left under the data dir.
    expect(readdirSync(join(srv.dataDir, 'sources', '.incoming'))).toEqual([]);
  });

  let first = '';
  it('registers from url + branch + path, shows where it comes from, and a deploy builds that commit', async () => {
    first = git(work, 'rev-parse', 'HEAD');
    const r = await api(srv.url, 'POST', '/api/v1/projects/gitsrc/apps', { token: admin, body: { git: { url: bare, branch: 'main', path: SUBDIR, watch: { interval: '5s', targets: ['local'] } } } });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ name: APP, targets: [{ name: 'local', type: 'process' }], git: { url: bare, branch: 'main', path: SUBDIR, commit: first, watch: { interval_ms: 5000, targets: ['local'] } } });
    expect(r.body.manifest_path.startsWith(join(srv.dataDir, 'sources', APP))).toBe(true);
    const d = await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
    expect(d.status, d.text).toBe(202);
    const done = await waitFinal(srv.url, admin, d.body.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(await getJson(done.access_url + '/')).toMatchObject({ message: 'first' });
  });

  it('watch: a commit pushed to the branch is registered and deployed without a webhook', async () => {
    const before = (await deploymentsOf()).length;
    const second = commitAndPush('second, found by polling');
    const deadline = Date.now() + 90_000;
    let dep: any;
    while (!dep && Date.now() < deadline) {
      dep = (await deploymentsOf()).find((x) => x.requested_by === `watch:git:${second.slice(0, 12)}`);
      if (!dep) await new Promise((r) => setTimeout(r, 500));
    }
    expect(dep, `no deployment of ${second} after 90 s; ${(await deploymentsOf()).length - before} new`).toBeTruthy();
    const done = await waitFinal(srv.url, admin, dep.id);
    expect(done.status, JSON.stringify(done)).toBe('succeeded');
    expect(await getJson(done.access_url + '/')).toMatchObject({ message: 'second, found by polling' });
    const app = (await api(srv.url, 'GET', `/api/v1/apps/${APP}`, { token: admin })).body;
    expect(app.git.commit).toBe(second);
    // One deploy for the commit (the poll does not deploy it again), and old checkouts pruned (the current and one before).
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await deploymentsOf()).filter((x) => x.requested_by === `watch:git:${second.slice(0, 12)}`)).toHaveLength(1);
    expect(readdirSync(join(srv.dataDir, 'sources', APP)).length).toBeLessThanOrEqual(2);
  });

  it('removing the app stops the polling and removes its checkouts', async () => {
    const stop = await api(srv.url, 'POST', `/api/v1/apps/${APP}/stop`, { token: admin, body: {} });
    expect(stop.status, stop.text).toBe(202);
    await waitFinal(srv.url, admin, stop.body.id);
    const del = await api(srv.url, 'DELETE', `/api/v1/apps/${APP}`, { token: admin });
    expect(del.status, del.text).toBe(200);
    expect(existsSync(join(srv.dataDir, 'sources', APP))).toBe(false);
    expect(first).toMatch(/^[0-9a-f]{40}$/);
  });
});
