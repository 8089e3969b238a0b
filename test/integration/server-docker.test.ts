/**
 * Issue 18 acceptance: an app registered from its manifest's content, deployed
 * through POST /deploy/unified to docker (a target the manifest lacks, made from
 * deployment_type and platform_config), followed over SSE to succeeded, its
 * access_url answering; then pushed to the local registry (registry_image).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { copyExample } from '../helpers/cli.js';
import { cleanupApp, engineProblem, registryProblem, baseImageProblem, REGISTRY } from '../helpers/docker.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, readEvents, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = `srvdk-${process.pid}`;
const skip = engineProblem ?? baseImageProblem;
let srv: ServerProc | undefined;

afterAll(async () => {
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
  if (!skip) await cleanupApp(APP);
});

describe('server: unified deploy to docker', () => {
  it.skipIf(Boolean(skip))(`deploys the example to docker through /deploy/unified and pushes it${skip ? ` (skipped: ${skip})` : ''}`, { timeout: 300_000 }, async () => {
    const dir = copyExample('hello-node');
    srv = await startServer({ args: ['--log-level', 'warn'] });
    const admin = await makeKey(srv.dataDir, 'admin');
    await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'dk' } });
    const manifest = [`app: ${APP}`, 'run: { command: node server.js, instances: 1, port: 3000 }', 'health: { path: /health, start_period: 15s }', 'env: { GREETING: "from content" }', 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n');
    const reg = await api(srv.url, 'POST', '/api/v1/projects/dk/apps', { token: admin, body: { manifest, source_dir: dir } });
    expect(reg.status, reg.text).toBe(201);
    const problems = await api(srv.url, 'POST', '/api/v1/deploy/validate/docker', { token: admin, body: { platform_config: { registry: 42 } } });
    expect(problems.body.valid).toBe(false);
    expect(problems.body.problems[0].path).toBe('platform_config.registry');

    const d = await api(srv.url, 'POST', '/api/v1/deploy/unified', { token: admin, body: { app: APP, deployment_type: 'docker', platform_config: {}, env_vars: { GREETING: 'from docker' } } });
    expect(d.status, d.text).toBe(202);
    expect(d.body).toMatchObject({ target: 'docker', deployment_type: 'docker' });
    const events = await readEvents(`${srv.url}/api/v1/deployments/${d.body.id}/events`, admin, { maxMs: 240_000 });
    expect(events.at(-1), JSON.stringify(events.slice(-3))).toMatchObject({ event: 'end', data: { status: 'succeeded' } });
    const done = await waitFinal(srv.url, admin, d.body.id);
    expect(done).toMatchObject({ status: 'succeeded', external_id: expect.any(String), access_url: expect.stringMatching(/^http:\/\//) });
    expect(await getJson(done.access_url + '/')).toMatchObject({ message: 'from docker', release: done.external_id });

    if (registryProblem) return;
    const push = await api(srv.url, 'POST', `/api/v1/deploy/${d.body.id}/push-registry`, { token: admin, body: { registry: `${REGISTRY}/srvtest` } });
    expect(push.status, push.text).toBe(200);
    expect(push.body.registry_image).toMatch(new RegExp(`^${REGISTRY}/srvtest/${APP}:`));
    expect((await api(srv.url, 'GET', `/api/v1/deployments/${d.body.id}`, { token: admin })).body.registry_image).toBe(push.body.registry_image);
  });
});
