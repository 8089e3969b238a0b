import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthSpec } from '../../src/core/health-spec.js';
import type { InstanceHandle, ReleaseRef } from '../../src/engine/target.js';
import { loadCredentials } from '../../src/targets/ssh/auth.js';
import { agentBundle } from '../../src/targets/ssh/agent-bundle.js';
import { SshConnection } from '../../src/targets/ssh/connection.js';
import { checkHost } from '../../src/targets/ssh/host-check.js';
import { ensureHostNode } from '../../src/targets/ssh/host-node.js';
import { tunnelDispatcher } from '../../src/targets/ssh/http-tunnel.js';
import { SshNodeRuntime } from '../../src/targets/ssh/ssh-node-runtime.js';
import { sshHostsProblem, startSshHosts, type TestHost, type TestHosts } from '../helpers/ssh-hosts.js';

// Two real hosts (systemd + sshd, Debian 12 whose own nodejs is 18.20): the node agent goes
// there as one bundled file, runs as gantry-agent-<app>.service, and runs each instance as a
// transient unit gantry-<app>@<instance>.service. The test reaches the agent only through
// SshNodeRuntime (the SSH connection and its forwarded channels); `docker exec` only observes.
const APP = 'sshagent-hello';
const ROOT = '/opt/gantry';
const PROXY_PORT = 18_080;
const RELEASE_ID = '20261201T000000000Z-abcdef0123';
const RELEASE_DIR = `${ROOT}/${APP}/releases/${RELEASE_ID}`;
// Characters a shell, systemd's env file parser or JSON could get wrong.
const SECRET = `s3cr3t-"quote'$HOME\`tick\`\\back;semi`;
const SECRET_MARK = 's3cr3t-';
const HEALTH: HealthSpec = { type: 'http', path: '/health', intervalMs: 200, timeoutMs: 2_000, retries: 3, startPeriodMs: 20_000 };
const RELEASE: ReleaseRef = { id: RELEASE_ID, artifact: { kind: 'dir', ref: RELEASE_DIR }, run: { command: 'node server.js', port: 3000 }, health: HEALTH, persist: [] };

const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`ssh-agent tests skipped: ${sshHostsProblem}`);

interface Node {
  host: TestHost;
  conn: SshConnection;
  rt: SshNodeRuntime;
  handle?: InstanceHandle;
}

let fleet: TestHosts;
let tmp: string;
let nodes: Node[] = [];

/**
 * examples/hello-node into the release directory: a tar streamed from a local `tar` process
 * into the exec's stdin. (Regression: exec took up a Readable only once its session was open;
 * a child's stdout nobody read yet is discarded by Node when the child exits, so 0 bytes went.)
 */
async function uploadRelease(conn: SshConnection): Promise<void> {
  expect((await conn.exec(['mkdir', '-p', RELEASE_DIR])).code).toBe(0);
  const tar = spawn('tar', ['-C', join(process.cwd(), 'examples/hello-node'), '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const r = await conn.exec(['tar', '-xf', '-', '-C', RELEASE_DIR], { stdin: tar.stdout });
  expect(r.code, r.stderr.toString()).toBe(0);
}

async function sh(host: TestHost, script: string): Promise<{ code: number; out: string }> {
  return host.exec('sh', '-c', script).then(
    (out) => ({ code: 0, out }),
    (e: { code?: number; stdout?: string }) => ({ code: e.code ?? 1, out: (e.stdout ?? '').trim() }),
  );
}

const unitOf = (id: string): string => `gantry-${APP}@${id}.service`;

describeHosts('the node agent on real systemd hosts', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gantry-sshagent-'));
    fleet = await startSshHosts(2, { tag: 'sshagent' });
    const credentials = await loadCredentials({ key: { file: fleet.key.file }, agent: false, baseDir: tmp });
    nodes = await Promise.all(
      fleet.hosts.map(async (host, i) => {
        const knownHostsFile = join(tmp, `known_hosts_${i}`);
        writeFileSync(knownHostsFile, host.knownHostsLines());
        const conn = await SshConnection.open({ endpoint: { host: host.ip, port: 22, user: 'root', name: `host${i + 1}` }, credentials, knownHostsFile, trustOnFirstUse: false, connectTimeoutMs: 10_000, commandTimeoutMs: 180_000 });
        await uploadRelease(conn);
        // The second host limits its instances.
        const rt = new SshNodeRuntime({ conn, app: APP, root: ROOT, proxyPort: PROXY_PORT, publicHost: host.ip, ...(i === 1 ? { resources: { memoryMaxBytes: 256 * 1024 * 1024, cpuQuotaPercent: 50 } } : {}) });
        return { host, conn, rt };
      }),
    );
  }, 240_000);

  afterAll(async () => {
    for (const n of nodes) {
      await n.rt.close().catch(() => undefined);
      await n.conn.close().catch(() => undefined);
    }
    await fleet?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it('doctor\'s checks of a host name what the agent needs there', async () => {
    const checks = await checkHost(nodes[0]!.conn, agentBundle().minNode);
    expect(checks).toEqual([
      expect.objectContaining({ name: 'host1: systemd', ok: true, detail: expect.stringMatching(/^systemd 25\d/) }),
      expect.objectContaining({ name: 'host1: login', ok: true }),
      expect.objectContaining({ name: 'host1: node', ok: true, detail: expect.stringMatching(/v18\.20\.\d+/) }),
    ]);
  }, 30_000);

  it('installs the agent as a systemd unit on each host, on the host\'s own Node 18 (Debian 12\'s): nothing uploaded but the agent', async () => {
    expect(agentBundle().minNode).toBe('18.17.0');
    for (const n of nodes) expect((await n.host.exec('node', '--version')).trim()).toMatch(/^v18\./);
    const urls = await Promise.all(nodes.map((n) => n.rt.ensureRouter({ responseTimeoutMs: 30_000, idleTimeoutMs: 30_000 })));
    for (const [i, n] of nodes.entries()) {
      expect(urls[i]!.url).toBe(`http://${n.host.ip}:${PROXY_PORT}`);
      expect((await n.host.exec('systemctl', 'is-active', `gantry-agent-${APP}.service`)).trim()).toBe('active');
      expect((await n.host.exec('systemctl', 'is-enabled', `gantry-agent-${APP}.service`)).trim()).toBe('enabled');
      // Which Node runs the agent: the host's own; no Node of Gantry's went over.
      const node = n.rt.agentNode!;
      expect(node.source).toBe('host');
      expect(node.version).toMatch(/^v18\./);
      expect(node.reason).toMatch(/is at least 18\.17\.0/);
      expect(await n.host.exec('sh', '-c', `ls ${ROOT}/.gantry/node 2>/dev/null | wc -l`)).toBe('0');
      const execStart = await n.host.exec('systemctl', 'show', '-p', 'ExecStart', '--value', `gantry-agent-${APP}.service`);
      expect(execStart).toContain(`path=${node.binary}`);
      expect(execStart).toContain(`${ROOT}/.gantry/agent/${agentBundle().hash}/gantry-agent.mjs`);
      // No rlimit settings of ours (one above the hard limit fails the unit).
      expect(await n.host.exec('cat', `/etc/systemd/system/gantry-agent-${APP}.service`)).not.toMatch(/^Limit/m);
      // The admin API listens on the host's loopback only: Gantry opens no port there.
      const info = JSON.parse(await n.host.exec('cat', `${ROOT}/${APP}/agent/agent.json`)) as { adminPort: number };
      const listening = await n.host.exec('sh', '-c', 'cat /proc/net/tcp /proc/net/tcp6');
      const adminHex = info.adminPort.toString(16).toUpperCase().padStart(4, '0');
      const binds = listening.split('\n').filter((l) => l.split(/\s+/)[2]?.endsWith(`:${adminHex}`) && l.split(/\s+/)[4] === '0A').map((l) => l.split(/\s+/)[2]!.split(':')[0]);
      expect(binds).toEqual(['0100007F']);
    }
    // A second ensure finds the agent running: nothing uploaded again, same process.
    const before = await nodes[0]!.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', `gantry-agent-${APP}.service`);
    await nodes[0]!.rt.ensureRouter();
    expect(nodes[0]!.rt.agentNode!.source).toBe('host');
    expect(await nodes[0]!.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', `gantry-agent-${APP}.service`)).toBe(before);
  }, 300_000);

  it('brings Gantry\'s own Node to a host whose node is too old (here: a node 16 put first on its PATH), once', async () => {
    const n = nodes[1]!;
    const ours = `${ROOT}/.gantry/node/${process.version}/node`;
    await n.host.exec('sh', '-c', `printf '#!/bin/sh\\necho v16.20.2\\n' > /usr/local/bin/node && chmod 755 /usr/local/bin/node`);
    try {
      const node = await ensureHostNode(n.conn, ROOT, agentBundle().minNode);
      expect(node).toMatchObject({ source: 'gantry', binary: ours, version: process.version });
      expect(node.reason).toMatch(/older than 18\.17\.0: uploaded/);
      expect((await n.host.exec(ours, '--version')).trim()).toBe(process.version);
      expect((await ensureHostNode(n.conn, ROOT, agentBundle().minNode)).reason).toMatch(/already there/);
    } finally {
      await n.host.exec('rm', '-f', '/usr/local/bin/node');
    }
    expect(await ensureHostNode(n.conn, ROOT, agentBundle().minNode)).toMatchObject({ source: 'host', binary: '/usr/bin/node' });
  }, 120_000);

  it('runs each instance as a systemd unit, healthy by the agent, served by the host\'s proxy', async () => {
    await Promise.all(
      nodes.map(async (n, i) => {
        n.handle = await n.rt.startInstance({ id: `abcdef-${i}-x1`, index: 0, release: RELEASE, env: { GANTRY_RELEASE: RELEASE_ID, HASH_SECRET: 'DB_PASSWORD' }, secretEnv: { DB_PASSWORD: SECRET } });
        const verdict = await n.rt.waitHealthy(n.handle, HEALTH);
        expect(verdict.ok, verdict.detail).toBe(true);
        await n.rt.setRoutes([{ instance: n.handle.id, release: RELEASE_ID, url: `http://127.0.0.1:${n.handle.endpoint.port}`, weight: 100 }]);
      }),
    );
    for (const n of nodes) {
      const unit = unitOf(n.handle!.id);
      const status = await n.host.exec('systemctl', 'status', '--no-pager', unit);
      expect(status).toContain('active (running)');
      expect(status).toContain('Transient: yes');
      expect((await n.host.exec('systemctl', 'show', '-p', 'Restart', '--value', unit)).trim()).toBe('on-failure');
      const listed = await n.rt.instances();
      expect(listed).toEqual([expect.objectContaining({ id: n.handle!.id, release: RELEASE_ID, state: 'running', restarts: 0, node: n.conn.label })]);
      // Through the host's proxy, reached over the SSH tunnel from here, and on the host's address.
      const viaTunnel = await request('http://proxy/', { dispatcher: tunnelDispatcher(n.conn, PROXY_PORT) });
      expect(JSON.parse(await viaTunnel.body.text())).toMatchObject({ release: RELEASE_ID, instance: n.handle!.id });
      const direct = await request(`http://${n.host.ip}:${PROXY_PORT}/secret-sha256`);
      // The app got the secret intact from the env file (quotes, $, backticks, backslash).
      expect(JSON.parse(await direct.body.text())).toMatchObject({ name: 'DB_PASSWORD', sha256: createHash('sha256').update(SECRET).digest('hex') });
      // Health is probed by the agent on the host.
      expect(await n.rt.probe(n.handle!, HEALTH)).toMatchObject({ ok: true });
      const wrong = await n.rt.probe({ ...n.handle!, endpoint: { host: '127.0.0.1', port: 1 } }, { ...HEALTH, timeoutMs: 500 });
      expect(wrong.ok).toBe(false);
    }
    // Resources of the second host's instances: systemd's MemoryMax and CPUQuota.
    const limited = nodes[1]!;
    expect((await limited.host.exec('systemctl', 'show', '-p', 'MemoryMax', '--value', unitOf(limited.handle!.id))).trim()).toBe(String(256 * 1024 * 1024));
    expect((await limited.host.exec('systemctl', 'show', '-p', 'CPUQuotaPerSecUSec', '--value', unitOf(limited.handle!.id))).trim()).toBe('500ms');
    expect((await nodes[0]!.host.exec('systemctl', 'show', '-p', 'MemoryMax', '--value', unitOf(nodes[0]!.handle!.id))).trim()).toBe('infinity');
  }, 120_000);

  it('keeps the secret in the env file only (0600): not in systemctl show, argv, the journal or the agent\'s state', async () => {
    for (const n of nodes) {
      const unit = unitOf(n.handle!.id);
      const envFile = `${ROOT}/${APP}/agent/env/${n.handle!.id}.env`;
      expect((await n.host.exec('stat', '-c', '%a %U', envFile)).trim()).toBe('600 root');
      expect((await n.host.exec('stat', '-c', '%a', `${ROOT}/${APP}/agent/env`)).trim()).toBe('700');
      expect(await n.host.exec('cat', envFile)).toContain(SECRET_MARK);
      expect((await n.host.exec('systemctl', 'show', '-p', 'EnvironmentFiles', '--value', unit)).trim()).toContain(envFile);
      expect(await n.host.exec('systemctl', 'show', unit)).not.toContain(SECRET_MARK);
      expect(await n.host.exec('systemctl', 'show', `gantry-agent-${APP}.service`)).not.toContain(SECRET_MARK);
      expect(await n.host.exec('ps', '-eo', 'args')).not.toContain(SECRET_MARK);
      expect(await n.host.exec('sh', '-c', 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "')).not.toContain(SECRET_MARK);
      expect(await n.host.exec('journalctl', '--no-pager', '-o', 'verbose')).not.toContain(SECRET_MARK);
      expect(await n.host.exec('cat', `${ROOT}/${APP}/agent/state.json`)).not.toContain(SECRET_MARK);
    }
  }, 60_000);

  it('reads instance logs from journald', async () => {
    const n = nodes[0]!;
    const lines: string[] = [];
    for await (const l of n.rt.logs({ lines: 50, follow: false })) lines.push(`${l.instance} ${l.stream} ${l.text}`);
    expect(lines).toContainEqual(`${n.handle!.id} out hello-node release ${RELEASE_ID} instance ${n.handle!.id} listening on ${n.handle!.endpoint.port}`);
    expect(lines.some((l) => l.startsWith(`${n.handle!.id} sys Started`))).toBe(true);
  }, 60_000);

  it('has systemd restart a crashed instance (Restart=on-failure), its output followed from journald', async () => {
    const n = nodes[0]!;
    const unit = unitOf(n.handle!.id);
    const ac = new AbortController();
    const seen: string[] = [];
    // One line of backlog: once it is here the follower holds its journal cursor, and what comes after is new (a fixed
    // wait raced the follower's first read on a loaded machine: a kill before it fell behind the cursor).
    let backlogRead = false;
    const following = (async () => {
      for await (const l of n.rt.logs({ lines: 1, follow: true, signal: ac.signal })) {
        if (!backlogRead) {
          backlogRead = true;
          continue;
        }
        seen.push(`${l.stream} ${l.text}`);
        if (l.stream === 'out' && l.text.includes('listening')) ac.abort();
      }
    })();
    for (let i = 0; i < 300 && !backlogRead; i++) await new Promise((r) => setTimeout(r, 100));
    expect(backlogRead, 'the journal follower read no backlog').toBe(true);
    await n.host.exec('systemctl', 'kill', '--signal', 'SIGKILL', unit);
    await Promise.race([following, new Promise((r) => setTimeout(r, 15_000))]);
    ac.abort();
    expect(seen).toContainEqual(expect.stringMatching(/^sys .*status=9\/KILL/));
    expect(seen).toContainEqual(`out hello-node release ${RELEASE_ID} instance ${n.handle!.id} listening on ${n.handle!.endpoint.port}`);
    const [inst] = await n.rt.instances();
    expect(inst).toMatchObject({ state: 'running', restarts: 1, lastExit: { code: null, signal: 'SIGKILL' } });
    expect((await request(`http://${n.host.ip}:${PROXY_PORT}/health`)).statusCode).toBe(200);
  }, 120_000);

  it('runs a one-off task in the release directory with the env, the secret in a 0600 file removed afterwards', async () => {
    const n = nodes[1]!;
    const envDir = `${ROOT}/${APP}/agent/env`;
    const before = (await n.host.exec('ls', envDir)).trim();
    const r = await n.rt.runTask({ release: RELEASE, command: 'pwd; printf %s "$DB_PASSWORD" | sha256sum; echo "greeting=$GREETING"; echo to-stderr >&2; exit 3', env: { GREETING: 'hi' }, secretEnv: { DB_PASSWORD: SECRET }, timeoutMs: 30_000 });
    expect(r.exitCode).toBe(3);
    expect(r.output).toContain(RELEASE_DIR);
    expect(r.output).toContain(createHash('sha256').update(SECRET).digest('hex'));
    expect(r.output).toContain('greeting=hi');
    expect(r.output).toContain('to-stderr');
    expect((await n.host.exec('ls', envDir)).trim()).toBe(before);
    expect(await n.host.exec('journalctl', '--no-pager', '-o', 'verbose')).not.toContain(SECRET_MARK);
    // Bounded: a task past its time is ended.
    const slow = await n.rt.runTask({ release: RELEASE, command: 'sleep 30', env: {}, secretEnv: {}, timeoutMs: 1_000 });
    expect(slow.exitCode).not.toBe(0);
  }, 60_000);

  it('keeps instances serving across a restart of the agent unit, and a killed agent is restarted by systemd; both adopt them', async () => {
    const n = nodes[1]!;
    const unit = unitOf(n.handle!.id);
    const pid = (await n.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', unit)).trim();
    await n.host.exec('systemctl', 'restart', `gantry-agent-${APP}.service`);
    n.rt['router'].forget();
    await n.rt.ensureRouter();
    expect((await n.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', unit)).trim()).toBe(pid);
    expect(await n.rt.instances()).toEqual([expect.objectContaining({ id: n.handle!.id, state: 'running' })]);
    // The route comes back once the adopted instance passes its health gate.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = await request(`http://${n.host.ip}:${PROXY_PORT}/health`).then((r) => (r.body.dump(), r.statusCode), () => 0);
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);

    // A killed agent is started again by systemd (Restart=on-failure) and adopts the same instance.
    const agentPid = (await n.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', `gantry-agent-${APP}.service`)).trim();
    await n.host.exec('systemctl', 'kill', '--signal', 'SIGKILL', `gantry-agent-${APP}.service`);
    let newPid = agentPid;
    for (let i = 0; i < 100 && (newPid === agentPid || newPid === '0'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      newPid = (await n.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', `gantry-agent-${APP}.service`)).trim();
    }
    expect(newPid).not.toBe(agentPid);
    expect(newPid).not.toBe('0');
    n.rt['router'].forget();
    await n.rt.ensureRouter();
    expect((await n.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', `gantry-agent-${APP}.service`)).trim()).toBe(newPid);
    expect(await n.rt.instances()).toEqual([expect.objectContaining({ id: n.handle!.id, state: 'running' })]);
    expect((await n.host.exec('systemctl', 'show', '-p', 'MainPID', '--value', unit)).trim()).toBe(pid);
  }, 180_000);

  it('stopping an instance removes its unit and its env file', async () => {
    const n = nodes[0]!;
    const id = n.handle!.id;
    await n.rt.setRoutes([]);
    await n.rt.stopInstance(id, 10_000);
    const status = await sh(n.host, `systemctl status --no-pager ${unitOf(id)}`);
    expect(status.code).toBe(4); // no such unit
    expect((await sh(n.host, `test -e ${ROOT}/${APP}/agent/env/${id}.env`)).code).not.toBe(0);
    expect(await n.rt.instances()).toEqual([]);
  }, 60_000);

  it('shutdown stops every instance unit and the agent, which stays disabled', async () => {
    await Promise.all(nodes.map((n) => n.rt.shutdown(10_000)));
    for (const n of nodes) {
      expect((await sh(n.host, `systemctl list-units --all --no-legend 'gantry-${APP}@*'`)).out).toBe('');
      expect((await sh(n.host, `systemctl is-active gantry-agent-${APP}.service`)).out).toBe('inactive');
      expect((await sh(n.host, `systemctl is-enabled gantry-agent-${APP}.service`)).out).toBe('disabled');
      expect((await sh(n.host, `ls ${ROOT}/${APP}/agent/env`)).out).toBe('');
    }
  }, 180_000);
});
