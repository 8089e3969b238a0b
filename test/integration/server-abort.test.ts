/**
 * Issue 18: POST /apps/{app}/abort ends a deploy that a worker is running back at the
 * previous release (the engine's own abort, asked through the API); the job ends rolled_back.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, readEvents, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvabort-hello';
let srv: ServerProc | undefined;
afterAll(async () => {
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

describe('abort through the API', () => {
  it('aborts a running deploy job back to the previous release', { timeout: 180_000 }, async () => {
    const dir = copyExample('hello-node');
    let v = 0;
    const manifest = (): void => writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', `env: { GREETING: "v${++v}" }`, 'strategy: { type: rolling, watch: 20s }', 'targets: { local: { type: process } }'].join('\n'));
    manifest();
    srv = await startServer({ args: ['--log-level', 'warn'] });
    const admin = await makeKey(srv.dataDir, 'admin');
    await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'ab' } });
    await api(srv.url, 'POST', '/api/v1/projects/ab/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } });
    const first = await waitFinal(srv.url, admin, (await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} })).body.id, 120_000);
    expect(first.status).toBe('succeeded');
    manifest();
    const d = await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
    await readEvents(`${srv.url}/api/v1/deployments/${d.body.id}/events`, admin, { until: (e) => e.data?.step === 'watch', maxMs: 60_000 });
    const t0 = Date.now();
    const ab = await api(srv.url, 'POST', `/api/v1/apps/${APP}/abort`, { token: admin, body: {} });
    expect(ab.status, ab.text).toBe(200);
    expect(ab.body).toMatchObject({ signal: 'abort', acted: true });
    const done = await waitFinal(srv.url, admin, d.body.id);
    expect(done.status).toBe('rolled_back');
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect((await getJson(first.access_url + '/')).release).toBe(first.external_id);
  });
});
