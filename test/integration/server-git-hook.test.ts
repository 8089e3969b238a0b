/**
 * Issue 18, triggers: a real `gantry server` on loopback takes GitHub-style push webhooks for an
 * app whose hook was set through the API. A signed push of a commit in a local bare repository
 * deploys that commit (its GREETING answers at access_url); an unsigned or wrongly signed push is
 * 401, a replayed delivery id 409, and neither queues a deployment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvhook-hello';
let srv: ServerProc;
let admin: string;
let bare: string;
let work: string;
let secret: string;

const manifest = (greeting: string): string =>
  [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', `env: { GREETING: ${JSON.stringify(greeting)} }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n');

const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-c', 'user.name=gantry-test', '-c', 'user.email=test@127.0.0.1', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim();

/** Commit the work tree with this greeting and push it to the bare repository's main; the new sha. */
function commitAndPush(greeting: string): string {
  writeFileSync(join(work, 'gantry.yaml'), manifest(greeting));
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', greeting);
  git(work, 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  return git(work, 'rev-parse', 'HEAD');
}

function pushPayload(sha: string): string {
  return JSON.stringify({ ref: 'refs/heads/main', before: '0'.repeat(40), after: sha, repository: { full_name: 'test/hello', clone_url: bare }, pusher: { name: 'test' } });
}

const sign = (key: string, body: string): string => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

function hook(body: string, headers: Record<string, string>) {
  return api(srv.url, 'POST', `/api/v1/hooks/git/${APP}`, { raw: body, headers: { 'x-github-event': 'push', ...headers } });
}

async function waitEmpty(dir: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (readdirSync(dir).length > 0) {
    if (Date.now() > deadline) throw new Error(`${dir} still holds ${readdirSync(dir).join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function deploymentCount(): Promise<number> {
  return (await api(srv.url, 'GET', `/api/v1/apps/${APP}/deployments`, { token: admin })).body.deployments.length;
}

beforeAll(async () => {
  // The registered copy answers "registered"; the repository's commits answer their own greeting.
  const registered = copyExample('hello-node');
  writeFileSync(join(registered, 'gantry.yaml'), manifest('registered'));
  bare = join(mkdtempSync(join(tmpdir(), 'gantry-hook-repo-')), 'hello.git');
  execFileSync('git', ['init', '-q', '--bare', bare]);
  work = copyExample('hello-node');
  git(work, 'init', '-q');
  git(work, 'remote', 'add', 'origin', bare);
  srv = await startServer();
  admin = await makeKey(srv.dataDir, 'admin');
  expect((await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'hooks' } })).status).toBe(201);
  const r = await api(srv.url, 'POST', '/api/v1/projects/hooks/apps', { token: admin, body: { manifest_path: join(registered, 'gantry.yaml') } });
  expect(r.status, r.text).toBe(201);
});

afterAll(async () => {
  if (srv && admin) await api(srv.url, 'POST', `/api/v1/apps/${APP}/stop`, { token: admin, body: {} }).then((r) => (r.status === 202 ? waitFinal(srv.url, admin, r.body.id) : undefined)).catch(() => undefined);
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

describe('git-push hooks on a real server', () => {
  it('PUT /apps/{app}/git-hook generates the secret and shows it once; an unknown target is refused', async () => {
    const bad = await api(srv.url, 'PUT', `/api/v1/apps/${APP}/git-hook`, { token: admin, body: { branches: { main: ['nowhere'] } } });
    expect(bad.status, bad.text).toBe(400);
    const r = await api(srv.url, 'PUT', `/api/v1/apps/${APP}/git-hook`, { token: admin, body: { branches: { main: ['local'] } } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ app: APP, hook_url: `/api/v1/hooks/git/${APP}`, branches: { main: ['local'] }, repo_url: null });
    secret = r.body.secret;
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const got = await api(srv.url, 'GET', `/api/v1/apps/${APP}/git-hook`, { token: admin });
    expect(got.body).toMatchObject({ branches: { main: ['local'] } });
    expect(got.text).not.toContain(secret);
    // Stored encrypted: no file under the data dir holds it in clear, and no log line.
    const grep = (() => {
      try {
        return execFileSync('grep', ['-rl', '--', secret, srv.dataDir], { encoding: 'utf8' });
      } catch {
        return '';
      }
    })();
    expect(grep).toBe('');
    expect(srv.output()).not.toContain(secret);
  });

  let deliveryId = '';
  let signedBody = '';
  it('a signed push deploys the pushed commit: 202 with the deployment id, it succeeds, access_url answers its greeting', async () => {
    const sha = commitAndPush('from commit one');
    signedBody = pushPayload(sha);
    deliveryId = randomUUID();
    const r = await hook(signedBody, { 'x-github-delivery': deliveryId, 'x-hub-signature-256': sign(secret, signedBody) });
    expect(r.status, r.text).toBe(202);
    expect(r.body).toMatchObject({ app: APP, branch: 'main', commit: sha, deliveryId, provider: 'github' });
    expect(r.body.deployments).toHaveLength(1);
    const dep = r.body.deployments[0];
    expect(dep).toMatchObject({ target: 'local', result: { id: expect.stringMatching(/^dep_/), target: 'local' } });
    const done = await waitFinal(srv.url, admin, dep.result.id);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', requested_by: `hook:git:${sha.slice(0, 12)}`, access_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+/) });
    expect(await getJson(done.access_url + '/')).toMatchObject({ message: 'from commit one' });
    // The checkout was made under the server's data dir, and removed once the deploy was done.
    await waitEmpty(join(srv.dataDir, 'checkouts'));
  });

  it('a later push deploys its own commit', async () => {
    const sha = commitAndPush('from commit two');
    const body = pushPayload(sha);
    const r = await hook(body, { 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(secret, body) });
    expect(r.status, r.text).toBe(202);
    const done = await waitFinal(srv.url, admin, r.body.deployments[0].result.id);
    expect(done.status).toBe('succeeded');
    expect(await getJson(done.access_url + '/')).toMatchObject({ message: 'from commit two' });
  });

  it('unsigned, wrongly signed and replayed pushes deploy nothing (401, 401, 409)', async () => {
    const before = await deploymentCount();
    const sha = commitAndPush('never deployed');
    const body = pushPayload(sha);
    const unsigned = await hook(body, { 'x-github-delivery': randomUUID() });
    expect(unsigned.status, unsigned.text).toBe(401);
    expect(unsigned.body.error.code).toBe('UNAUTHORIZED');
    const wrong = await hook(body, { 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign('not-the-secret', body) });
    expect(wrong.status, wrong.text).toBe(401);
    const replay = await hook(signedBody, { 'x-github-delivery': deliveryId, 'x-hub-signature-256': sign(secret, signedBody) });
    expect(replay.status, replay.text).toBe(409);
    expect(await deploymentCount()).toBe(before);
    expect(readdirSync(join(srv.dataDir, 'checkouts'))).toEqual([]);
    const status = await api(srv.url, 'GET', `/api/v1/apps/${APP}/status`, { token: admin });
    expect(JSON.stringify(status.body)).not.toContain('never deployed');
  });

  it('DELETE /apps/{app}/git-hook: its pushes are 404 from then on, even correctly signed', async () => {
    const before = await deploymentCount();
    expect((await api(srv.url, 'DELETE', `/api/v1/apps/${APP}/git-hook`, { token: admin })).status).toBe(200);
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}/git-hook`, { token: admin })).status).toBe(404);
    const body = pushPayload(git(work, 'rev-parse', 'HEAD'));
    const r = await hook(body, { 'x-github-delivery': randomUUID(), 'x-hub-signature-256': sign(secret, body) });
    expect(r.status, r.text).toBe(404);
    expect(await deploymentCount()).toBe(before);
  });
});
