/**
 * Issue 20 on the ssh target, through the same contract as process and docker: maintenance
 * mode on the host's proxy (kept across a restart of the agent's unit), and destroy removing
 * the app from the host. (exec is not built for ssh yet.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, gantry } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { sshHostsProblem, startSshHosts, type TestHosts } from '../helpers/ssh-hosts.js';

const PORT = 18_095;
const APP = 'day2-ssh';
const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`day2-ssh tests skipped: ${sshHostsProblem}`);

let fleet: TestHosts;
let dir: string;

describeHosts('day-2 operations on the ssh target', () => {
  beforeAll(async () => {
    fleet = await startSshHosts(1, { tag: 'day2ssh' });
    writeFileSync(join(fleet.dir, 'known_hosts'), fleet.hosts.map((h) => h.knownHostsLines()).join(''));
    dir = copyExample('hello-node');
    const h = fleet.hosts[0]!;
    writeFileSync(
      join(dir, 'gantry.yaml'),
      `app: ${APP}\nrun: { command: node server.js, instances: 1 }\nhealth: { path: /health, interval: 500ms, start_period: 20s }\nstrategy: { type: rolling, watch: 0s }\ntargets:\n  fleet:\n    type: ssh\n    hosts: ["root@${h.ip}"]\n    key: ${fleet.key.file}\n    known_hosts: ${join(fleet.dir, 'known_hosts')}\n    port: ${PORT}\n`,
    );
  }, 240_000);

  afterAll(async () => {
    await fleet?.remove();
  }, 60_000);

  it('maintenance on answers 503 on the host (also after the agent unit restarts); off serves again; destroy takes it down', async () => {
    const h = fleet.hosts[0]!;
    const url = `http://${h.ip}:${PORT}/`;
    const d = await gantry(['deploy', '--json'], { cwd: dir, timeoutMs: 300_000 });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect((await get(url)).status).toBe(200);

    const on = await gantry(['maintenance', 'on', '--message', 'a <b>moment</b>', '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(on.code, on.stdout + on.stderr).toBe(0);
    const r = await get(url);
    expect([r.status, r.headers['retry-after']]).toEqual([503, '60']);
    expect(r.body).toContain('a &lt;b&gt;moment&lt;/b&gt;');
    const st = (await gantry(['status', '--json'], { cwd: dir, timeoutMs: 120_000 })).json.targets[0];
    expect(st.maintenance).toMatchObject({ on: true });
    expect(st.instances[0]).toMatchObject({ state: 'running', healthy: true });

    await h.exec('systemctl', 'restart', `gantry-agent-${APP}.service`);
    let status = 0;
    for (let k = 0; k < 60 && status !== 503; k++) {
      status = await get(url, 2000).then((x) => x.status, () => 0);
      if (status !== 503) await new Promise((res) => setTimeout(res, 500));
    }
    expect(status).toBe(503);

    expect((await gantry(['maintenance', 'off'], { cwd: dir, timeoutMs: 120_000 })).code).toBe(0);
    expect((await get(url)).status).toBe(200);

    const gone = await gantry(['destroy', '--yes', '--json'], { cwd: dir, timeoutMs: 180_000 });
    expect(gone.code, gone.stdout + gone.stderr).toBe(0);
    await expect(get(url, 2000)).rejects.toThrow();
    expect((await gantry(['releases', '--json'], { cwd: dir })).json).toEqual([]);
    // Nothing of the app is left on the host: no app directory (releases, agent state, env files), no agent unit.
    expect(await h.exec('sh', '-c', `test -e /opt/gantry/${APP} || test -e /etc/systemd/system/gantry-agent-${APP}.service || echo gone`)).toContain('gone');
  }, 400_000);
});
