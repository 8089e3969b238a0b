/**
 * Issue 18, HA on PostgreSQL: two server replicas with data dirs of their OWN share one
 * database, the engine's state included, deploying to a fleet of real systemd hosts over
 * ssh (a target whose runtime lives on the hosts, not in a data dir). The replica running
 * a deploy is SIGKILLed in the watch after its last traffic switch and its data dir removed (as if its
 * machine were gone); the other takes the job over when its lease runs out and finishes
 * the deploy from the plan stored in PostgreSQL, once.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, engineRows, makeKey, newDataDir, shareDatabase, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';
import { sshHostsProblem, startSshHosts, type TestHosts } from '../helpers/ssh-hosts.js';

const APP = 'srvpgha-hello';
const PORT = 18_120;
// Two hosts make it a fleet; one keeps the test light on a busy machine (the point is the shared state, not the fleet's size).
const HOSTS = Number(process.env.GANTRY_TEST_PGHA_HOSTS ?? 1);
const ARGS = ['--lease', '2000', '--log-level', 'warn'];
const problem = !process.env.GANTRY_TEST_PG ? 'needs GANTRY_TEST_PG (the vitest project "postgres")' : sshHostsProblem;
if (problem) console.warn(`server-replicas-pg skipped: ${problem}`);

let fleet: TestHosts | undefined;
const replicas: ServerProc[] = [];

describe.skipIf(problem)('two replicas on PostgreSQL with separate data dirs', () => {
  beforeAll(async () => {
    fleet = await startSshHosts(HOSTS, { tag: 'srvpgha' });
    writeFileSync(join(fleet.dir, 'known_hosts'), fleet.hosts.map((h) => h.knownHostsLines()).join(''));
  }, 180_000);

  afterAll(async () => {
    for (const r of replicas) await stopServer(r, 'SIGKILL');
    await fleet?.remove();
  }, 60_000);

  it('the survivor finishes a deploy whose replica was killed in its watch, from the stored plan; it ran once', { timeout: 600_000 }, async () => {
    const hosts = fleet!.hosts;
    const dir = copyExample('hello-node');
    let v = 0;
    const manifest = (): void =>
      writeFileSync(
        join(dir, 'gantry.yaml'),
        [
          `app: ${APP}`,
          'run: { command: node server.js, instances: 1 }',
          'health: { path: /health, interval: 500ms, start_period: 20s }',
          `env: { GREETING: "v${++v}" }`,
          'strategy: { type: rolling, batch: "100%", watch: 15s }',
          'targets:',
          '  fleet:',
          '    type: ssh',
          `    hosts: [${hosts.map((h) => `"root@${h.ip}"`).join(', ')}]`,
          `    key: ${fleet!.key.file}`,
          `    known_hosts: ${join(fleet!.dir, 'known_hosts')}`,
          `    port: ${PORT}`,
        ].join('\n'),
      );
    manifest();
    const dataA = newDataDir();
    const dataB = newDataDir();
    await shareDatabase(dataA, dataB);
    const a = await startServer({ dataDir: dataA, args: ARGS });
    replicas.push(a);
    const b = await startServer({ dataDir: dataB, args: ARGS });
    replicas.push(b);
    const admin = await makeKey(dataA, 'admin');
    await api(a.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'pgha' } });
    expect((await api(b.url, 'POST', '/api/v1/projects/pgha/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBeLessThan(300);
    const first = await waitFinal(a.url, admin, (await api(a.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} })).body.id, 180_000);
    expect(first.status, JSON.stringify(first)).toBe('succeeded');
    // Each replica reads the state the other wrote: it is in PostgreSQL, not in either data dir.
    expect((await api(b.url, 'GET', `/api/v1/apps/${APP}/status`, { token: admin })).body.targets[0]).toMatchObject({ release: first.external_id });
    for (const d of [dataA, dataB]) expect(existsSync(join(d, 'engine', 'state.db'))).toBe(false);

    manifest();
    const d = await api(b.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
    // Killed in a watch once every host's traffic switch is done (all on the new release), where the engine
    // continues a plan; a kill before that is compensated (the ssh plan switches host by host).
    const inLastWatch = async (): Promise<boolean> => {
      const engineId = (await api(a.url, 'GET', `/api/v1/deployments/${d.body.id}`, { token: admin })).body.engine_deployment_id;
      if (!engineId) return false;
      const steps = await engineRows<{ idx: number; kind: string; status: string }>(a.dataDir, 'SELECT idx, kind, status FROM steps WHERE deployment_id = ? ORDER BY idx', [engineId]);
      // The hosts' plans run side by side: every host's switch done, a watch running.
      const switches = steps.filter((x) => x.kind === 'switchTraffic');
      return switches.length > 0 && switches.every((x) => x.status === 'done') && steps.some((x) => x.kind === 'watch' && x.status === 'running');
    };
    const until = Date.now() + 120_000;
    while (!(await inLastWatch())) {
      if (Date.now() > until) throw new Error('the deploy never reached the watch after its last switch');
      await new Promise((r) => setTimeout(r, 150));
    }
    const running = (await api(a.url, 'GET', `/api/v1/deployments/${d.body.id}`, { token: admin })).body;
    const pid = Number(String(running.worker).split(':')[1]);
    const victim = replicas.find((r) => r.child.pid === pid)!;
    const survivor = replicas.find((r) => r !== victim)!;
    expect(victim, running.worker).toBeTruthy();
    victim.child.kill('SIGKILL');
    await victim.exited;
    // Nothing of the killed replica's machine is left to help: its data dir goes too.
    rmSync(victim.dataDir, { recursive: true, force: true });

    const done = await waitFinal(survivor.url, admin, d.body.id, 180_000);
    expect(done, JSON.stringify(done)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(Number(String(done.worker).split(':')[1])).toBe(survivor.child.pid);

    // Ran once: one deployment and one release per deploy request, every step of the plan done, the lock let go.
    const deploys = await engineRows<{ id: string; status: string }>(survivor.dataDir, "SELECT id, status FROM deployments WHERE app = ? AND kind = 'deploy' ORDER BY created_at", [APP]);
    expect(deploys.map((x) => x.status)).toEqual(['succeeded', 'succeeded']);
    expect(await engineRows(survivor.dataDir, 'SELECT id FROM releases WHERE app = ?', [APP])).toHaveLength(2);
    const steps = await engineRows<{ kind: string; status: string }>(survivor.dataDir, 'SELECT kind, status FROM steps WHERE deployment_id = ? ORDER BY idx', [done.engine_deployment_id]);
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.filter((s) => s.status !== 'done' && s.status !== 'skipped'), JSON.stringify(steps)).toEqual([]);
    const lock = await engineRows(survivor.dataDir, 'SELECT holder FROM locks WHERE app = ?', [APP]);
    expect(lock).toEqual([]);

    // Every host serves the new release.
    for (const h of hosts) expect((await getJson(`http://${h.ip}:${PORT}/`)).release).toBe(done.external_id);
    const st = await api(survivor.url, 'GET', `/api/v1/apps/${APP}/status`, { token: admin });
    expect(st.body.targets[0]).toMatchObject({ state: 'running', release: done.external_id });
  });
});
