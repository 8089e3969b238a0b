/**
 * Issue 18, HA: two server replicas on one database (PostgreSQL with GANTRY_TEST_PG,
 * the engine's state in it too, else the shared SQLite files) and one data dir share the work. The replica running
 * a deploy is SIGKILLed mid-rollout; the other takes the job over when its lease
 * runs out and the engine finishes it from its stored plan, once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, engineRows, killServerAgents, makeKey, readEvents, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvha-hello';
const ARGS = ['--lease', '2000', '--log-level', 'warn'];
const replicas: ServerProc[] = [];

afterAll(async () => {
  for (const r of replicas) await stopServer(r, 'SIGKILL');
  if (replicas[0]) killServerAgents(replicas[0].dataDir);
});

describe('two replicas', () => {
  it('the other replica finishes a deploy whose replica was killed in its watch; it ran once', { timeout: 240_000 }, async () => {
    const dir = copyExample('hello-node');
    let v = 0;
    const manifest = (): void => writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', `env: { GREETING: "v${++v}" }`, 'strategy: { type: rolling, watch: 6s }', 'targets: { local: { type: process } }'].join('\n'));
    manifest();
    const a = await startServer({ args: ARGS });
    replicas.push(a);
    const b = await startServer({ dataDir: a.dataDir, args: ARGS });
    replicas.push(b);
    const admin = await makeKey(a.dataDir, 'admin');
    await api(a.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'ha' } });
    await api(b.url, 'POST', '/api/v1/projects/ha/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } });
    const first = await waitFinal(a.url, admin, (await api(a.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} })).body.id);
    expect(first.status).toBe('succeeded');

    manifest();
    const d = await api(b.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
    const seen = await readEvents(`${a.url}/api/v1/deployments/${d.body.id}/events`, admin, { until: (e) => e.data?.step === 'watch', maxMs: 60_000 });
    expect(seen.at(-1)?.data?.step).toBe('watch');
    const running = (await api(a.url, 'GET', `/api/v1/deployments/${d.body.id}`, { token: admin })).body;
    const pid = Number(String(running.worker).split(':')[1]);
    const victim = replicas.find((r) => r.child.pid === pid)!;
    const survivor = replicas.find((r) => r !== victim)!;
    expect(victim, running.worker).toBeTruthy();
    victim.child.kill('SIGKILL');
    await victim.exited;

    const done = await waitFinal(survivor.url, admin, d.body.id, 120_000);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(Number(String(done.worker).split(':')[1])).toBe(survivor.child.pid);
    const deploys = await engineRows<{ id: string; status: string }>(a.dataDir, "SELECT id, status FROM deployments WHERE app = ? AND kind = 'deploy'", [APP]);
    expect(deploys).toHaveLength(2);
    expect(deploys.every((x) => x.status === 'succeeded')).toBe(true);
    expect((await getJson(first.access_url + '/')).release).toBe(done.external_id);
    const st = await api(survivor.url, 'GET', `/api/v1/apps/${APP}/status`, { token: admin });
    expect(st.body.targets[0]).toMatchObject({ state: 'running', release: done.external_id });
  });
});
