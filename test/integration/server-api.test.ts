/**
 * Issue 18: the control-plane server over real HTTP on loopback, with the real
 * engine deploying examples/hello-node on the process target: keys and roles per
 * project, apps, deployments as jobs (202 at once), SSE to the end, the seeds'
 * endpoints, write-only secrets, audit, bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, readEvents, serverCli, serverDb, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvapi-hello';
const SECRET_VALUE = 's3cr3t-value-never-shown-7f1c';
let srv: ServerProc;
let admin: string;
let dir: string;
const keys: Record<string, string> = {};

beforeAll(async () => {
  dir = copyExample('hello-node');
  writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', 'env: { GREETING: "from the file", HASH_SECRET: API_TOKEN }', 'secrets: [API_TOKEN]', 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
  srv = await startServer();
  admin = await makeKey(srv.dataDir, 'admin');
});

afterAll(async () => {
  if (srv && keys.deployer) await api(srv.url, 'POST', `/api/v1/apps/${APP}/stop`, { token: keys.deployer, body: {} }).then((r) => (r.status === 202 ? waitFinal(srv.url, keys.deployer!, r.body.id) : undefined)).catch(() => undefined);
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

describe('gantry server API', () => {
  it('projects and keys: a server-wide admin makes projects and scoped keys, shown once', async () => {
    for (const p of ['alpha', 'beta']) expect((await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: p, max_apps: 5 } })).status).toBe(201);
    for (const [name, project, role] of [['deployer', 'alpha', 'deployer'], ['viewer', 'alpha', 'viewer'], ['alphaAdmin', 'alpha', 'admin'], ['betaAdmin', 'beta', 'admin']] as const) {
      const r = await api(srv.url, 'POST', '/api/v1/keys', { token: admin, body: { project, role, name } });
      expect(r.status, r.text).toBe(201);
      expect(r.body.token).toMatch(/^gk_key_/);
      keys[name] = r.body.token;
    }
    const list = await api(srv.url, 'GET', '/api/v1/keys', { token: keys.alphaAdmin });
    expect(list.status).toBe(200);
    expect(list.body.keys.every((k: any) => k.project_id === 'alpha' && k.token === undefined && k.hash === undefined)).toBe(true);
    // Only a hash is stored: the token's secret is nowhere in the keys table.
    const sdb = await serverDb(srv.dataDir);
    const stored = JSON.stringify(await sdb.db.selectFrom('api_keys').selectAll().execute());
    await sdb.close();
    expect(stored).toContain('scrypt$');
    expect(stored).not.toContain(keys.deployer!.split('_').pop()!);
    // A project admin cannot make projects.
    expect((await api(srv.url, 'POST', '/api/v1/projects', { token: keys.alphaAdmin, body: { id: 'gamma' } })).status).toBe(403);
  });

  it('registers the app from its manifest; another project does not see it (404)', async () => {
    const r = await api(srv.url, 'POST', '/api/v1/projects/alpha/apps', { token: keys.alphaAdmin, body: { manifest_path: join(dir, 'gantry.yaml') } });
    expect(r.status, r.text).toBe(201);
    expect(r.body).toMatchObject({ name: APP, project: 'alpha', targets: [{ name: 'local', type: 'process' }] });
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}`, { token: keys.betaAdmin })).status).toBe(404);
    expect((await api(srv.url, 'POST', `/api/v1/projects/alpha/apps`, { token: keys.betaAdmin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBe(404);
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token: keys.betaAdmin })).body.apps).toEqual([]);
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token: keys.viewer })).body.apps.map((a: any) => a.name)).toEqual([APP]);
  });

  it('secrets are write-only: set by a deployer, listed by name and version, never returned', async () => {
    expect((await api(srv.url, 'PUT', `/api/v1/apps/${APP}/secrets/API_TOKEN`, { token: keys.viewer, body: { value: SECRET_VALUE } })).status).toBe(403);
    const set = await api(srv.url, 'PUT', `/api/v1/apps/${APP}/secrets/API_TOKEN`, { token: keys.deployer, body: { value: SECRET_VALUE } });
    expect(set.status, set.text).toBe(200);
    expect(set.text).not.toContain(SECRET_VALUE);
    const list = await api(srv.url, 'GET', `/api/v1/apps/${APP}/secrets`, { token: keys.viewer });
    expect(list.body.secrets).toEqual([{ name: 'API_TOKEN', set: true, version: set.body.version }]);
    expect(list.text).not.toContain(SECRET_VALUE);
  });

  let first: any;
  it('POST /deploy/unified answers 202 at once; its SSE events run to succeeded; access_url answers', async () => {
    const t0 = Date.now();
    const r = await api(srv.url, 'POST', '/api/v1/deploy/unified', { token: keys.deployer, body: { agent_id: APP, deployment_type: 'process', adapter: 'openai', platform_config: {}, env_vars: { GREETING: 'from unified' } } });
    expect(r.status, r.text).toBe(202);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.body).toMatchObject({ id: expect.stringMatching(/^dep_/), app: APP, target: 'local', deployment_type: 'process', adapter: 'openai', status: 'queued' });
    const events = await readEvents(`${srv.url}/api/v1/deployments/${r.body.id}/events`, keys.viewer!);
    const end = events.at(-1)!;
    expect(end.event).toBe('end');
    expect(end.data.status).toBe('succeeded');
    expect(events.some((e) => e.event === 'step' && /switch|traffic/i.test(e.data.message))).toBe(true);
    // Resumable: with Last-Event-ID only what came after it.
    const ids = events.filter((e) => e.id).map((e) => Number(e.id));
    const again = await readEvents(`${srv.url}/api/v1/deployments/${r.body.id}/events`, keys.viewer!, { lastEventId: String(ids[2]) });
    expect(again.filter((e) => e.id).map((e) => Number(e.id))).toEqual(ids.slice(3));
    first = await waitFinal(srv.url, keys.viewer!, r.body.id);
    expect(first).toMatchObject({ status: 'succeeded', external_id: expect.stringMatching(/^\d{8}T/), access_url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+/), registry_image: null });
    const answer = await getJson(first.access_url + '/');
    expect(answer).toMatchObject({ message: 'from unified', release: first.external_id });
    // The secret reached the app (its hash proves it) but no route and no server log line holds it.
    const h = await getJson(first.access_url + '/secret-sha256');
    expect(h.sha256).toBe((await import('node:crypto')).createHash('sha256').update(SECRET_VALUE).digest('hex'));
    const st = await api(srv.url, 'GET', `/api/v1/apps/${APP}/status`, { token: keys.viewer });
    expect(st.body.targets[0]).toMatchObject({ state: 'running', release: first.external_id });
    for (const path of [`/api/v1/deployments/${r.body.id}`, `/api/v1/apps/${APP}/deployments`, `/api/v1/apps/${APP}/status`]) expect((await api(srv.url, 'GET', path, { token: keys.viewer })).text).not.toContain(SECRET_VALUE);
    expect(srv.output()).not.toContain(SECRET_VALUE);
    expect(srv.output()).not.toContain(keys.deployer);
  });

  it('a viewer may read but not deploy (403); another project\'s key gets 404 on the deployment', async () => {
    expect((await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: keys.viewer, body: {} })).status).toBe(403);
    expect((await api(srv.url, 'GET', `/api/v1/deployments/${first.id}`, { token: keys.betaAdmin })).status).toBe(404);
    expect((await api(srv.url, 'GET', `/api/v1/deployments/${first.id}`, { token: keys.viewer })).status).toBe(200);
    const logs = await api(srv.url, 'GET', `/api/v1/apps/${APP}/logs?lines=5`, { token: keys.viewer });
    expect(logs.status).toBe(200);
    expect(Array.isArray(logs.body.lines)).toBe(true);
  });

  it('deploy again, then rollback, stop and start: each a job with its final state', async () => {
    const d = await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: keys.deployer, body: { force: true } });
    expect(d.status).toBe(202);
    const second = await waitFinal(srv.url, keys.viewer!, d.body.id);
    expect(second.status).toBe('succeeded');
    expect(second.external_id).not.toBe(first.external_id);
    expect((await getJson(second.access_url + '/')).message).toBe('from the file');
    const rel = await api(srv.url, 'GET', `/api/v1/apps/${APP}/releases`, { token: keys.viewer });
    expect(rel.body.releases.map((x: any) => x.release)).toEqual(expect.arrayContaining([first.external_id, second.external_id]));
    const rb = await api(srv.url, 'POST', `/api/v1/apps/${APP}/rollback`, { token: keys.deployer, body: { release: first.external_id } });
    expect(rb.status, rb.text).toBe(202);
    expect(await waitFinal(srv.url, keys.viewer!, rb.body.id)).toMatchObject({ status: 'succeeded', kind: 'rollback', external_id: first.external_id });
    expect((await getJson(first.access_url + '/')).release).toBe(first.external_id);
    const stop = await api(srv.url, 'POST', `/api/v1/apps/${APP}/stop`, { token: keys.deployer, body: {} });
    expect((await waitFinal(srv.url, keys.viewer!, stop.body.id)).status).toBe('succeeded');
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}/status`, { token: keys.viewer })).body.targets[0].state).toBe('stopped');
    const start = await api(srv.url, 'POST', `/api/v1/apps/${APP}/start`, { token: keys.deployer, body: {} });
    expect((await waitFinal(srv.url, keys.viewer!, start.body.id)).status).toBe('succeeded');
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}/status`, { token: keys.viewer })).body.targets[0].state).toBe('running');
    // Promote with nothing paused: the engine's refusal, as a conflict.
    expect((await api(srv.url, 'POST', `/api/v1/apps/${APP}/promote`, { token: keys.deployer, body: {} })).status).toBe(409);
  });

  it('validate/{platform}: problems with their paths and hints; an unknown platform is 404', async () => {
    const bad = await api(srv.url, 'POST', '/api/v1/deploy/validate/process', { token: keys.viewer, body: { platform_config: { port: 'eighty', colour: 'blue' } } });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect(bad.body.problems.map((p: any) => p.path)).toEqual(expect.arrayContaining(['platform_config.port']));
    expect(bad.body.problems.every((p: any) => p.hint)).toBe(true);
    const good = await api(srv.url, 'POST', '/api/v1/deploy/validate/process', { token: keys.viewer, body: { platform_config: { port: 18999 }, app: APP } });
    expect(good.body).toMatchObject({ valid: true, problems: [] });
    expect((await api(srv.url, 'POST', '/api/v1/deploy/validate/nowhere', { token: keys.viewer, body: { platform_config: {} } })).status).toBe(404);
    // push-registry on a process deployment: the target has nothing to push.
    const push = await api(srv.url, 'POST', `/api/v1/deploy/${first.id}/push-registry`, { token: keys.deployer, body: { registry: '127.0.0.1:5000/team' } });
    expect(push.status).toBe(400);
    expect(push.body.error.message).toMatch(/nothing to push/);
  });

  it('bad input gets the right status and writes nothing', async () => {
    const before = (await api(srv.url, 'GET', `/api/v1/apps/${APP}/deployments`, { token: keys.viewer })).body.deployments.length;
    const cases: Array<[string, string, Parameters<typeof api>[3], number]> = [
      ['POST', `/api/v1/apps/${APP}/deployments`, { raw: '{"force": tru' }, 400],
      ['POST', `/api/v1/apps/${APP}/deployments`, { body: { force: true, sneaky: 1 } }, 400],
      ['POST', '/api/v1/deploy/unified', { body: { app: APP, deployment_type: 'process', env_vars: { X: 'y'.repeat(2_000_000) } } }, 413],
      ['POST', '/api/v1/deploy/unified', { body: { app: APP, deployment_type: 'process', platform_config: { port: 'x' } } }, 422],
      ['POST', '/api/v1/deploy/unified', { body: { deployment_type: 'process' } }, 400],
      ['GET', '/api/v1/deployments/..%2F..%2Fetc%2Fpasswd', {}, 400],
      ['GET', `/api/v1/apps/..%2F${APP}`, {}, 400],
      ['PUT', `/api/v1/apps/${APP}/secrets/..%2Fx`, { body: { value: 'v' } }, 400],
      ['POST', `/api/v1/apps/${APP}/rollback`, { body: { release: '../../etc' } }, 400],
    ];
    for (const [method, path, opts, status] of cases) {
      const r = await api(srv.url, method, path, { token: keys.deployer, ...opts });
      expect(r.status, `${method} ${path}: ${r.text}`).toBe(status);
      expect(r.body.error.message, path).toBeTruthy();
    }
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}/deployments`, { token: keys.viewer })).body.deployments.length).toBe(before);
    expect(readdirSync(join(srv.dataDir, 'engine', 'secrets', APP, 'default'))).toEqual(expect.not.arrayContaining([expect.stringMatching(/^x/)]));
  });

  it('the audit log records who, what, when and from where; `gantry audit` prints it', async () => {
    const r = await api(srv.url, 'GET', '/api/v1/audit?limit=500', { token: keys.alphaAdmin });
    expect(r.status).toBe(200);
    const deploy = r.body.audit.find((a: any) => a.route === '/api/v1/deploy/unified' && a.status === 202);
    expect(deploy).toMatchObject({ key_id: expect.stringMatching(/^key_/), project_id: 'alpha', method: 'POST', ip: '127.0.0.1', at: expect.any(String) });
    expect((await api(srv.url, 'GET', '/api/v1/audit', { token: keys.viewer })).status).toBe(403);
    const cli = await serverCli(srv.dataDir, ['audit', '--json', '-n', '500'], dir);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.json.some((a: any) => a.path === '/api/v1/deploy/unified' && a.key_id === deploy.key_id)).toBe(true);
  });

  it('keys: revoked keys stop working; failed authentications are rate limited (429)', async () => {
    const made = await api(srv.url, 'POST', '/api/v1/keys', { token: keys.alphaAdmin, body: { role: 'viewer', name: 'short-lived' } });
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token: made.body.token })).status).toBe(200);
    expect((await api(srv.url, 'DELETE', `/api/v1/keys/${made.body.id}`, { token: keys.alphaAdmin })).status).toBe(200);
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token: made.body.token })).status).toBe(401);
    const cliList = await serverCli(srv.dataDir, ['keys', 'list', '--json'], dir);
    expect(cliList.json.find((k: any) => k.id === made.body.id).revoked_at).toBeTruthy();
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await api(srv.url, 'GET', '/api/v1/apps', { token: `gk_key_aaaaaaaaaaaaaaaa_${'x'.repeat(43)}` })).status);
    expect(statuses.slice(0, 8).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // A good key from the same address is refused too while the window lasts (the limit is per address).
    const blocked = await api(srv.url, 'GET', '/api/v1/apps', { token: keys.viewer });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
  });
});
