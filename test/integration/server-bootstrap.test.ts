/**
 * Issue 18: bootstrapping the first key (`gantry server --init-admin` prints it once),
 * per-project quotas (apps; concurrent deploys) and jobs of one app+target run one
 * after the other, never at once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { api, killServerAgents, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

let srv: ServerProc | undefined;
afterAll(async () => {
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

function app(name: string): string {
  const dir = copyExample('hello-node');
  writeFileSync(join(dir, 'gantry.yaml'), [`app: ${name}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', 'strategy: { type: rolling, watch: 1s }', 'targets: { local: { type: process } }'].join('\n'));
  return join(dir, 'gantry.yaml');
}

describe('server bootstrap, quotas and serialized jobs', () => {
  it('--init-admin prints a server-wide admin key once; started again it makes none', { timeout: 240_000 }, async () => {
    srv = await startServer({ args: ['--init-admin', '--log-level', 'warn'] });
    const token = /admin key \(shown once, store it now\): (gk_\S+)/.exec(srv.output())?.[1];
    expect(token).toBeTruthy();
    expect((await api(srv.url, 'POST', '/api/v1/projects', { token, body: { id: 'q', max_apps: 2, max_concurrent_deploys: 1 } })).status).toBe(201);
    const dataDir = srv.dataDir;
    await stopServer(srv);
    srv = await startServer({ dataDir, args: ['--init-admin', '--log-level', 'warn'] });
    expect(srv.output()).not.toMatch(/admin key \(shown once/);
    expect(srv.output()).toMatch(/keys exist already/);
    expect((await api(srv.url, 'GET', '/api/v1/projects', { token })).status).toBe(200);

    // Quota: two apps, the third is refused and not registered.
    for (const n of ['srvq-one', 'srvq-two']) expect((await api(srv.url, 'POST', '/api/v1/projects/q/apps', { token, body: { manifest_path: app(n) } })).status).toBe(201);
    const third = await api(srv.url, 'POST', '/api/v1/projects/q/apps', { token, body: { manifest_path: app('srvq-three') } });
    expect(third.status).toBe(409);
    expect(third.body.error.code).toBe('QUOTA_EXCEEDED');
    expect((await api(srv.url, 'GET', '/api/v1/apps', { token })).body.apps.map((a: any) => a.name)).toEqual(['srvq-one', 'srvq-two']);

    // One concurrent deploy for the project: two apps' deploys run one after the other;
    // two deploys of one app+target likewise (the queue and the engine's lock).
    const jobs = [];
    for (const n of ['srvq-one', 'srvq-two', 'srvq-one']) jobs.push((await api(srv.url, 'POST', `/api/v1/apps/${n}/deployments`, { token, body: { force: true } })).body.id);
    const done = [];
    for (const id of jobs) done.push(await waitFinal(srv.url, token!, id, 180_000));
    expect(done.map((d) => d.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    const spans = done.map((d) => [Date.parse(d.started_at), Date.parse(d.finished_at)] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0], JSON.stringify(spans)).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(done.every((d) => d.attempts === 1)).toBe(true);
  });
});
