/**
 * Issue 18: every route of the OpenAPI document, walked: without a key 401, with a
 * viewer key on a route that needs more 403, with another project's key on that
 * project's resources 404 (and nothing changed). Also the probes, /metrics, docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { api, makeKey, serverDb, startServer, stopServer, type ServerProc } from '../helpers/server.js';

const APP = 'srvroutes-hello';
let srv: ServerProc;
let admin: string;
const keys: Record<string, string> = {};
let alphaKeyId = '';
const DEP_ID = 'dep_walkfixture0000';

beforeAll(async () => {
  const dir = copyExample('hello-node');
  writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js }', 'targets: { local: { type: process } }'].join('\n'));
  // The walk fails to authenticate many times from one address: a higher limit than the default's 10 a minute.
  srv = await startServer({ args: ['--auth-limit', '1000'] });
  admin = await makeKey(srv.dataDir, 'admin');
  for (const p of ['alpha', 'beta']) await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: p } });
  for (const [name, project, role] of [['viewer', 'alpha', 'viewer'], ['alphaAdmin', 'alpha', 'admin'], ['betaAdmin', 'beta', 'admin']] as const) {
    const r = await api(srv.url, 'POST', '/api/v1/keys', { token: admin, body: { project, role, name } });
    keys[name] = r.body.token;
    if (name === 'alphaAdmin') alphaKeyId = r.body.id;
  }
  expect((await api(srv.url, 'POST', '/api/v1/projects/alpha/apps', { token: keys.alphaAdmin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBe(201);
  // A finished deployment of alpha's app, as the queue records one (no deploy needed to walk the routes).
  const sdb = await serverDb(srv.dataDir);
  await sdb.db.insertInto('jobs').values({ id: DEP_ID, project_id: 'alpha', app: APP, target: 'local', kind: 'deploy', params: '{}', state: 'succeeded', engine_deployment_id: null, result: null, error: null, worker_id: null, lease_until: null, attempts: 1, requested_by: 'fixture', created_at: new Date().toISOString(), started_at: null, finished_at: null, external_id: '20260101T000000Z-abcd', access_url: null, registry_image: null }).execute();
  await sdb.close();
});

afterAll(async () => {
  await stopServer(srv);
});

const PARAMS: Record<string, () => string> = { app: () => APP, project: () => 'alpha', name: () => 'API_TOKEN', platform: () => 'process', type: () => 'process', release: () => '20260101T000000Z-abcd' };
const BODIES: Record<string, unknown> = { 'PUT /api/v1/apps/{app}/secrets/{name}': { value: 'not-a-real-secret' }, 'POST /api/v1/projects/{project}/apps': { manifest_path: '/nonexistent/gantry.yaml' }, 'POST /api/v1/projects': { id: 'zeta' }, 'POST /api/v1/keys': { role: 'viewer', name: 'x' }, 'POST /api/v1/deploy/unified': { app: APP, deployment_type: 'process' }, 'PUT /api/v1/apps/{app}/git-hook': { branches: { main: ['local'] } } };

function fill(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_m, p: string) => (p === 'id' ? (path.startsWith('/api/v1/keys') ? alphaKeyId : DEP_ID) : PARAMS[p]!()));
}

describe('every route of the OpenAPI document', () => {
  it('401 without a key, 403 for a viewer where more is needed, 404 for another project', async () => {
    const doc = (await api(srv.url, 'GET', '/api/v1/openapi.json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    const routes: Array<{ method: string; path: string; role: string }> = [];
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        const role = /Requires role: ([\w-]+)/.exec(op.description ?? '')?.[1] ?? 'public';
        routes.push({ method: method.toUpperCase(), path, role });
      }
    }
    // The document holds the API: the seeds' endpoints, deployments, keys, audit, probes.
    for (const p of ['/api/v1/deploy/unified', '/api/v1/deploy/validate/{platform}', '/api/v1/deploy/{id}/push-registry', '/api/v1/deployments/{id}/events', '/api/v1/apps/{app}/logs', '/api/v1/keys/{id}', '/api/v1/audit', '/api/v1/hooks/git/{app}', '/health/ready', '/metrics']) expect(Object.keys(doc.paths)).toContain(p);
    expect(routes.length).toBeGreaterThanOrEqual(30);
    const publicRoutes = routes.filter((r) => r.role === 'public').map((r) => r.path);
    // Only the probes and the (HMAC-signed) git hook need no key.
    expect(publicRoutes.sort()).toEqual(['/api/v1/hooks/git/{app}', '/health', '/health/live', '/health/ready']);

    for (const r of routes.filter((x) => x.role !== 'public')) {
      const path = fill(r.path);
      const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? (BODIES[`${r.method} ${r.path}`] ?? {}) : undefined;
      const none = await api(srv.url, r.method, path, { body });
      expect(none.status, `${r.method} ${r.path} without a key`).toBe(401);
      const viewer = await api(srv.url, r.method, path, { body, token: keys.viewer });
      if (r.role !== 'viewer') expect(viewer.status, `${r.method} ${r.path} as viewer: ${viewer.text}`).toBe(403);
      else expect(viewer.status, `${r.method} ${r.path} as viewer: ${viewer.text}`).not.toBe(403);
      if (/\{(app|project|id|name)\}/.test(r.path)) {
        const other = await api(srv.url, r.method, path, { body, token: keys.betaAdmin });
        expect(other.status, `${r.method} ${r.path} with another project's key: ${other.text}`).toBe(404);
      }
    }
    // Nothing another project asked for happened: the app, the key and the deployment are there.
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}`, { token: keys.viewer })).status).toBe(200);
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token: keys.alphaAdmin })).status).toBe(200);
    expect((await api(srv.url, 'GET', `/api/v1/deployments/${DEP_ID}`, { token: keys.viewer })).body.status).toBe('succeeded');
  });

  it('probes answer without a key; /metrics (with a key) has the server\'s figures; docs are served', async () => {
    for (const p of ['/health', '/health/live', '/health/ready']) expect((await api(srv.url, 'GET', p)).status).toBe(200);
    expect((await api(srv.url, 'GET', '/health/ready')).body).toEqual({ ok: true, store: true, workers: true });
    const m = await api(srv.url, 'GET', '/metrics', { token: keys.viewer });
    expect(m.status).toBe(200);
    for (const name of ['gantry_http_request_duration_seconds_bucket', 'gantry_job_queue_depth{state="queued"}', 'process_resident_memory_bytes']) expect(m.text).toContain(name);
    const docs = await fetch(`${srv.url}/api/v1/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toMatch(/swagger/i);
  });

  it('the git hook: an unsigned push is 401 and queues nothing; an app without a hook is 404', async () => {
    const push = '{"ref":"refs/heads/main"}';
    expect((await api(srv.url, 'POST', `/api/v1/hooks/git/${APP}`, { raw: push, headers: { 'x-github-event': 'push' } })).status).toBe(404);
    const set = await api(srv.url, 'PUT', `/api/v1/apps/${APP}/git-hook`, { token: keys.alphaAdmin, body: { branches: { main: ['local'] } } });
    expect(set.status, set.text).toBe(200);
    expect(set.body.secret).toMatch(/^[0-9a-f]{64}$/);
    const r = await api(srv.url, 'POST', `/api/v1/hooks/git/${APP}`, { raw: push, headers: { 'x-github-event': 'push' } });
    expect(r.status, r.text).toBe(401);
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}/deployments`, { token: keys.viewer })).body.deployments).toHaveLength(1);
    // The secret is shown once: never by GET, never in the log.
    const got = await api(srv.url, 'GET', `/api/v1/apps/${APP}/git-hook`, { token: keys.viewer });
    expect(got.status).toBe(200);
    expect(got.text).not.toContain(set.body.secret);
    expect(srv.output()).not.toContain(set.body.secret);
  });

  it('logs are structured JSON (pino) and hold no key or secret value', async () => {
    await api(srv.url, 'PUT', `/api/v1/apps/${APP}/secrets/API_TOKEN`, { token: keys.alphaAdmin, body: { value: 'value-that-must-not-be-logged' } });
    const lines = srv.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(() => JSON.parse(l)).not.toThrow();
    expect(srv.output()).not.toContain('value-that-must-not-be-logged');
    for (const k of Object.values(keys)) expect(srv.output()).not.toContain(k);
  });
});
