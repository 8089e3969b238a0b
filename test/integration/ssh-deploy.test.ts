import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, gantry, spawnGantry } from '../helpers/cli.js';
import { get, pollLoop } from '../helpers/http.js';
import { docker, sshHostsProblem, startSshHosts, type TestHost, type TestHosts } from '../helpers/ssh-hosts.js';

// The ssh target end to end through the CLI, on 5 real systemd hosts (sshd, Debian 12's nodejs
// 18.20 and python3): both examples to 3 of them, a redeploy under client loops, a one-file
// change's bytes, then a rollout to all 5 with one host killed in the middle.
const NODE_PORT = 18_090;
const PYTHON_PORT = 18_091;
const KILL_PORT = 18_092;
const DATA_PORT = 18_093;
const ASSET_BYTES = 256 * 1024;
const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`ssh-deploy tests skipped: ${sshHostsProblem}`);

let fleet: TestHosts;
let nodeApp: string;

function target(hosts: TestHost[], port: number, extra = ''): string {
  return `targets:
  fleet:
    type: ssh
    hosts: [${hosts.map((h) => `"root@${h.ip}"`).join(', ')}]
    key: ${fleet.key.file}
    known_hosts: ${join(fleet.dir, 'known_hosts')}
    port: ${port}
${extra}`;
}

function nodeManifest(app: string, hosts: TestHost[], port: number, opts: { greeting: string; strategy?: string; targetExtra?: string }): string {
  return `app: ${app}
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
  GREETING: ${opts.greeting}
strategy:
${opts.strategy ?? '  type: rolling\n  batch: "100%"\n'}${target(hosts, port, opts.targetExtra)}`;
}

const three = () => fleet.hosts.slice(0, 3);

describeHosts('ssh target: deploy through the CLI to real systemd hosts', () => {
  beforeAll(async () => {
    fleet = await startSshHosts(5, { tag: 'sshdeploy' });
    writeFileSync(join(fleet.dir, 'known_hosts'), fleet.hosts.map((h) => h.knownHostsLines()).join(''));
    nodeApp = copyExample('hello-node');
    // An incompressible file, so the one-file change below is measured in real bytes.
    writeFileSync(join(nodeApp, 'asset.bin'), randomBytes(ASSET_BYTES));
    writeFileSync(join(nodeApp, 'gantry.yaml'), nodeManifest('sshdeploy-node', three(), NODE_PORT, { greeting: 'hello from ssh' }));
  }, 240_000);

  afterAll(async () => {
    await fleet?.remove();
  }, 60_000);

  it('doctor checks every host of the manifest and names the one it cannot reach, with a hint', async () => {
    const dir = copyExample('hello-node');
    writeFileSync(join(dir, 'gantry.yaml'), nodeManifest('sshdeploy-doctor', [fleet.hosts[0]!], NODE_PORT, { greeting: 'x' }).replace(`"root@${fleet.hosts[0]!.ip}"]`, `"root@${fleet.hosts[0]!.ip}", "root@127.0.0.1:1"]`));
    const r = await gantry(['doctor', '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const byName = new Map<string, { ok: boolean; detail: string; hint?: string }>(r.json.checks.map((c: { name: string }) => [c.name, c]));
    const ip = fleet.hosts[0]!.ip;
    expect(byName.get(`${ip}: ssh`)?.ok).toBe(true);
    expect(byName.get(`${ip}: systemd`)?.ok).toBe(true);
    expect(byName.get(`${ip}: node`)?.ok).toBe(true);
    const down = byName.get('127.0.0.1:1: ssh')!;
    expect(down.ok).toBe(false);
    expect(down.detail).toContain('127.0.0.1:1');
    expect(down.hint).toBeTruthy();
  }, 180_000);

  it('hello-node to 3 hosts: each host serves, systemd runs the units, --json names every host with its bytes', async () => {
    const r = await gantry(['deploy', '--json'], { cwd: nodeApp, timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.status).toBe('succeeded');
    expect(r.json.nodes.map((n: { node: string }) => n.node)).toEqual(three().map((h) => h.ip));
    for (const n of r.json.nodes) {
      expect(n.status).toBe('succeeded');
      expect(n.bytes_sent).toBeGreaterThan(ASSET_BYTES);
    }
    for (const h of three()) {
      const res = await get(`http://${h.ip}:${NODE_PORT}/`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('hello from ssh');
      const units = await h.exec('systemctl', 'list-units', '--no-legend', '--plain', 'gantry-*');
      expect(units).toContain('gantry-agent-sshdeploy-node.service');
      expect(units.match(/gantry-sshdeploy-node@\S+\.service/g)).toHaveLength(2);
      expect((await h.exec('systemctl', 'is-active', 'gantry-agent-sshdeploy-node.service')).trim()).toBe('active');
      expect((await h.exec('readlink', '/opt/gantry/sshdeploy-node/current')).trim()).toBe(`releases/${r.json.release}`);
      expect(JSON.parse(await h.exec('cat', `/opt/gantry/sshdeploy-node/meta/${r.json.release}.json`))).toMatchObject({ release: r.json.release, result: 'succeeded' });
    }
    const st = await gantry(['status', '--json'], { cwd: nodeApp, timeoutMs: 120_000 });
    expect(st.code, st.stdout + st.stderr).toBe(0);
    expect(st.json.targets[0].instances.filter((i: { node?: string }) => i.node)).toHaveLength(6);
  }, 400_000);

  it('hello-python to the same 3 hosts beside it (its own agent, proxy port and units)', async () => {
    const app = copyExample('hello-python');
    writeFileSync(
      join(app, 'gantry.yaml'),
      `app: sshdeploy-python\nrun:\n  command: python3 app.py\n  instances: 1\nhealth:\n  path: /health\n  interval: 500ms\n  start_period: 20s\nenv:\n  GREETING: hello from python on ssh\nstrategy:\n  type: rolling\n  batch: "100%"\n${target(three(), PYTHON_PORT)}`,
    );
    const r = await gantry(['deploy', '--json'], { cwd: app, timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const h of three()) {
      const res = await get(`http://${h.ip}:${PYTHON_PORT}/`);
      expect(res.status).toBe(200);
      expect(res.body).toContain('hello from python on ssh');
      expect((await h.exec('systemctl', 'is-active', 'gantry-agent-sshdeploy-python.service')).trim()).toBe('active');
    }
  }, 400_000);

  it('a redeploy under a client loop per host: 0 failed requests, every host on the new release', async () => {
    writeFileSync(join(nodeApp, 'gantry.yaml'), nodeManifest('sshdeploy-node', three(), NODE_PORT, { greeting: 'hello again from ssh' }));
    const loops = three().map((h) => pollLoop(`http://${h.ip}:${NODE_PORT}/`, { maxMs: 300_000 }));
    const r = await gantry(['deploy', '--json'], { cwd: nodeApp, timeoutMs: 300_000 });
    await new Promise((res) => setTimeout(res, 500));
    const reports = await Promise.all(loops.map((l) => l.stop()));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const rep of reports) {
      expect(rep.failed, rep.errors.join('\n')).toBe(0);
      expect(rep.ok).toBeGreaterThan(10);
      expect(rep.releases.get(r.json.release)).toBeGreaterThan(0);
    }
  }, 400_000);

  it('a one-file change sends about that file: bytes per host ≤ 1.1 × the file + 64 KiB', async () => {
    writeFileSync(join(nodeApp, 'asset.bin'), randomBytes(ASSET_BYTES));
    const r = await gantry(['deploy', '--json'], { cwd: nodeApp, timeoutMs: 300_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.nodes).toHaveLength(3);
    for (const n of r.json.nodes) {
      expect(n.files_sent).toBe(1);
      expect(n.bytes_sent).toBeGreaterThan(ASSET_BYTES);
      expect(n.bytes_sent).toBeLessThanOrEqual(1.1 * ASSET_BYTES + 64 * 1024);
    }
  }, 400_000);

  it('backup and restore of persist paths: each host\'s shared data comes back to that host, the app serving again', async () => {
    const hosts = fleet.hosts.slice(3, 5);
    const app = copyExample('hello-node');
    const manifest = nodeManifest('sshdeploy-data', hosts, DATA_PORT, { greeting: 'data' }).replace('env:\n', 'persist: [data]\nenv:\n');
    writeFileSync(join(app, 'gantry.yaml'), manifest);
    const first = await gantry(['deploy', '--json'], { cwd: app, timeoutMs: 300_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const shared = '/opt/gantry/sshdeploy-data/shared/data';
    for (const h of hosts) {
      // The release reads its data through the link to shared/.
      expect((await h.exec('readlink', `/opt/gantry/sshdeploy-data/releases/${first.json.release}/data`)).trim()).toMatch(/shared\/data$/);
      await h.exec('sh', '-c', `mkdir -p ${shared}/sub && printf 'note of %s' "$1" > ${shared}/note.txt && head -c 100000 /dev/urandom > ${shared}/sub/blob.bin && sha256sum ${shared}/sub/blob.bin | cut -c1-64 > /tmp/blob.sha`, 'sh', h.ip);
    }
    const backup = await gantry(['backup', '--json'], { cwd: app, timeoutMs: 120_000 });
    expect(backup.code, backup.stdout + backup.stderr).toBe(0);
    const listed = await gantry(['backups', '--json'], { cwd: app });
    const files: string[] = listed.json.find((b: { file: string }) => b.file === backup.json.file).files.map((f: { path: string }) => f.path);
    for (const h of hosts) expect(files).toContain(`data/host-${h.ip}-data/note.txt`);

    // Lose the data on both hosts, then restore.
    for (const h of hosts) await h.exec('sh', '-c', `rm -rf ${shared}/sub && echo lost > ${shared}/note.txt && touch ${shared}/junk`);
    const restored = await gantry(['restore', backup.json.file, '--json'], { cwd: app, timeoutMs: 300_000 });
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    for (const h of hosts) {
      expect(await h.exec('cat', `${shared}/note.txt`)).toBe(`note of ${h.ip}`);
      expect((await h.exec('sh', '-c', `sha256sum ${shared}/sub/blob.bin | cut -c1-64`)).trim()).toBe((await h.exec('cat', '/tmp/blob.sha')).trim());
      expect((await h.exec('sh', '-c', `ls -a ${shared} /opt/gantry/sshdeploy-data/shared`)).split('\n')).not.toContain('junk');
      expect((await h.exec('sh', '-c', 'ls -a /opt/gantry/sshdeploy-data/shared')).split('\n').filter((n) => n.startsWith('.'))).toEqual(['.', '..']);
      // The app runs again after the restore and reads the restored file through its release.
      expect((await get(`http://${h.ip}:${DATA_PORT}/health`)).status).toBe(200);
      expect(await h.exec('cat', '/opt/gantry/sshdeploy-data/current/data/note.txt')).toBe(`note of ${h.ip}`);
    }
  }, 600_000);

  it('one of 5 hosts killed mid-rollout: the report names it, the other 4 serve the new release (max_failed: 1), none has a half-assembled release', async () => {
    const app = copyExample('hello-node');
    const strategy = '  type: rolling\n  batch: "100%"\n  max_failed: 1\n  node_timeout: 150s\n';
    const extra = '    connect_timeout: 5s\n    command_timeout: 60s\n';
    writeFileSync(join(app, 'gantry.yaml'), nodeManifest('sshdeploy-kill', fleet.hosts, KILL_PORT, { greeting: 'one', strategy, targetExtra: extra }));
    const first = await gantry(['deploy', '--json'], { cwd: app, timeoutMs: 300_000 });
    expect(first.code, first.stdout + first.stderr).toBe(0);

    writeFileSync(join(app, 'gantry.yaml'), nodeManifest('sshdeploy-kill', fleet.hosts, KILL_PORT, { greeting: 'two', strategy, targetExtra: extra }));
    const victim = fleet.hosts[4]!;
    const run = spawnGantry(['deploy', '--json'], { cwd: app, timeoutMs: 300_000 });
    let ended = false;
    void run.done.then(() => (ended = true));
    // Kill the fifth host as soon as the new release reaches it (the rollout is under way there).
    let killed = false;
    for (let i = 0; i < 600 && !ended && !killed; i++) {
      const releases = await victim.exec('sh', '-c', 'ls -a /opt/gantry/sshdeploy-kill/releases').catch(() => '');
      if (releases.split('\n').filter((n) => /^(\.tmp-)?2\d{7}T/.test(n)).length >= 2) {
        await docker('kill', victim.container);
        killed = true;
      } else await new Promise((res) => setTimeout(res, 100));
    }
    const r = await run.done;
    if (!killed) await docker('kill', victim.container);
    expect(killed, 'the kill happened during the rollout').toBe(true);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const byNode = new Map<string, { status: string; error?: string }>(r.json.nodes.map((n: { node: string }) => [n.node, n]));
    const dead = byNode.get(victim.ip)!;
    expect(['failed', 'timed_out']).toContain(dead.status);
    expect(dead.error).toContain(victim.ip);
    for (const h of fleet.hosts.slice(0, 4)) {
      expect(byNode.get(h.ip)!.status).toBe('succeeded');
      const res = await get(`http://${h.ip}:${KILL_PORT}/`);
      expect(res.body).toContain('two');
      expect((await h.exec('readlink', '/opt/gantry/sshdeploy-kill/current')).trim()).toBe(`releases/${r.json.release}`);
      expect((await h.exec('sh', '-c', 'ls -a /opt/gantry/sshdeploy-kill/releases')).split('\n').filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    }
  }, 600_000);
});
