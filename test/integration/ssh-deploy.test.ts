import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, gantry } from '../helpers/cli.js';
import { sshHostsProblem, startSshHosts, type TestHosts } from '../helpers/ssh-hosts.js';

// The ssh target end to end through the CLI: hello-node to 3 real systemd hosts.
const PORT = 18_090;
const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`ssh-deploy tests skipped: ${sshHostsProblem}`);

let fleet: TestHosts;
let app: string;

function manifest(hosts: TestHosts, extra = ''): string {
  return `app: sshdeploy-hello
run:
  command: node server.js
  instances: 2
health:
  path: /health
  interval: 500ms
  timeout: 2s
  retries: 3
  start_period: 20s
env:
  GREETING: hello from ssh
strategy:
  type: rolling
  batch: "100%"
${extra}targets:
  fleet:
    type: ssh
    hosts: [${hosts.hosts.map((h) => `"root@${h.ip}"`).join(', ')}]
    key: ${hosts.key.file}
    known_hosts: ${join(hosts.dir, 'known_hosts')}
    port: ${PORT}
`;
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const r = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  return { status: r.statusCode, body: await r.body.text() };
}

describeHosts('ssh target: deploy through the CLI to real systemd hosts', () => {
  beforeAll(async () => {
    fleet = await startSshHosts(3, { tag: 'sshdeploy' });
    writeFileSync(join(fleet.dir, 'known_hosts'), fleet.hosts.map((h) => h.knownHostsLines()).join(''));
    app = copyExample('hello-node');
    writeFileSync(join(app, 'gantry.yaml'), manifest(fleet));
  }, 240_000);

  afterAll(async () => {
    await fleet?.remove();
  }, 60_000);

  it('deploys hello-node to 3 hosts: each host serves, systemd runs the units, --json names every host with bytes sent', async () => {
    const t0 = Date.now();
    const r = await gantry(['deploy', '--json'], { cwd: app, timeoutMs: 300_000 });
    console.log(`first deploy ${Date.now() - t0} ms`, JSON.stringify(r.json?.nodes), r.stderr.slice(-3000));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.status).toBe('succeeded');
    expect(r.json.nodes).toHaveLength(3);
    for (const n of r.json.nodes) {
      expect(n.status).toBe('succeeded');
      expect(n.bytes_sent).toBeGreaterThan(0);
    }
    for (const h of fleet.hosts) {
      const res = await get(`http://${h.ip}:${PORT}/`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('hello from ssh');
      const units = await h.exec('systemctl', 'list-units', '--no-legend', '--plain', 'gantry-*');
      expect(units).toContain('gantry-agent-sshdeploy-hello.service');
      expect(units.match(/gantry-sshdeploy-hello@\S+\.service/g)).toHaveLength(2);
      expect((await h.exec('readlink', '/opt/gantry/sshdeploy-hello/current')).trim()).toBe(`releases/${r.json.release}`);
    }
    const st = await gantry(['status', '--json'], { cwd: app, timeoutMs: 120_000 });
    expect(st.code, st.stdout + st.stderr).toBe(0);
    expect(st.json.targets[0].instances.filter((i: { node?: string }) => i.node)).toHaveLength(6);
  }, 400_000);
});
