import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GantryError } from '../../src/core/errors.js';
import { loadCredentials, type SshCredentials } from '../../src/targets/ssh/auth.js';
import { sshConfigSchema } from '../../src/targets/ssh/config.js';
import { SshConnection, type SshConnectOptions } from '../../src/targets/ssh/connection.js';
import { tunnelDispatcher, tunnelHttpAgent } from '../../src/targets/ssh/http-tunnel.js';
import { SshPool } from '../../src/targets/ssh/pool.js';
import { createNetwork, docker, generateKey, removeNetwork, sshHostsProblem, startSshHosts, type TestHost, type TestHosts } from '../helpers/ssh-hosts.js';

// Real hosts: containers booting systemd + sshd (gantry-vm:bookworm), started once for this file.
// bastion: on the bridge and on an inner network; inner: only on the inner network, and its
// authorized key only accepts logins coming from the bastion's inner address (from="...").
// victim: stopped during the file, its former address then answers nothing.
const TAG = 'sshconn';
const INNER_NET = `gantry-sshconn-inner-${process.pid}`;
let fleet: TestHosts;
let innerFleet: TestHosts;
let bastion: TestHost;
let plain: TestHost;
let victim: TestHost;
let inner: TestHost;
let tmp: string;
let creds: SshCredentials;
const timings: string[] = [];

const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`ssh-connection tests skipped: ${sshHostsProblem}`);

function knownHosts(name: string, ...lines: string[]): string {
  const file = join(tmp, name);
  writeFileSync(file, lines.join(''));
  return file;
}

function opts(host: TestHost, over: Partial<SshConnectOptions> = {}): SshConnectOptions {
  return {
    endpoint: { host: host.ip, port: 22, user: 'root', name: host.container },
    credentials: creds,
    knownHostsFile: knownHosts(`kh-${host.container}-${randomBytes(3).toString('hex')}`, host.knownHostsLines()),
    trustOnFirstUse: false,
    connectTimeoutMs: 10_000,
    commandTimeoutMs: 30_000,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<GantryError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, 'expected a failure').toBeInstanceOf(GantryError);
  return e as GantryError;
}

describeHosts('ssh connection against real sshd + systemd hosts', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gantry-sshconn-'));
    await createNetwork(INNER_NET);
    fleet = await startSshHosts(3, { tag: TAG, networks: (i) => (i === 0 ? ['bridge', INNER_NET] : ['bridge']) });
    [bastion, plain, victim] = fleet.hosts as [TestHost, TestHost, TestHost];
    innerFleet = await startSshHosts(1, { tag: `${TAG}-in`, key: fleet.key, networks: () => [INNER_NET], keyOptions: () => `from="${bastion.ips[INNER_NET]}"` });
    inner = innerFleet.hosts[0]!;
    timings.push(`3 hosts up in ${fleet.startedInMs} ms, 1 more in ${innerFleet.startedInMs} ms`);
    creds = await loadCredentials({ key: { file: fleet.key.file }, agent: false, baseDir: tmp });
  }, 180_000);

  afterAll(async () => {
    await fleet?.remove();
    await innerFleet?.remove();
    await removeNetwork(INNER_NET);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    console.log(`[ssh-hosts] ${timings.join('; ')}`);
  });

  it('connects with a key file, runs commands, and reuses one connection for all of them (one sshd session per host)', async () => {
    const conn = await SshConnection.open(opts(plain));
    try {
      const r = await conn.exec(['hostname']);
      expect(r.code).toBe(0);
      expect(plain.container.endsWith(r.stdout.toString().trim())).toBe(true);
      // 20 commands at once on one connection (more than sshd's MaxSessions of 10: queued, not refused).
      const many = await Promise.all(Array.from({ length: 20 }, (_, i) => conn.exec(['echo', String(i)])));
      expect(many.map((m) => m.stdout.toString().trim())).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      const failing = await conn.exec(['sh', '-c', 'echo oops >&2; exit 3']);
      expect([failing.code, failing.stderr.toString()]).toEqual([3, 'oops\n']);
    } finally {
      await conn.close();
    }
    // A pool gives the same connection for the same host, and the host sees a single TCP session.
    const pool = new SshPool({ ...opts(plain), defaultUser: 'root' });
    try {
      const spec = { name: plain.container, host: plain.ip, port: 22 };
      const [a, b] = await Promise.all([pool.connect(spec), pool.connect(spec)]);
      expect(a).toBe(b);
      await Promise.all([a.exec(['true']), b.exec(['true'])]);
      const sessions = await plain.exec('ss', '-Htn', 'state', 'established', '( sport = :22 )');
      expect(sessions.split('\n').filter(Boolean)).toHaveLength(1);
    } finally {
      await pool.closeAll();
    }
  });

  it('a dropped connection fails its command clearly, and the pool opens a new one on the next use', async () => {
    const pool = new SshPool({ ...opts(plain), defaultUser: 'root' });
    const spec = { name: plain.container, host: plain.ip, port: 22 };
    try {
      const first = await pool.connect(spec);
      // failure() attaches its handler now: the command fails while the test is still busy killing the session.
      const running = failure(first.exec(['sleep', '30']));
      await new Promise((r) => setTimeout(r, 300));
      // The host ends our session (its sshd process for this connection), as a crash or a reboot would.
      await plain.exec('pkill', '-f', '^sshd: root');
      const e = await running;
      expect(e.code).toBe('SSH_CONNECT_FAILED');
      expect(e.message).toContain(plain.container);
      for (let i = 0; i < 20 && first.isOpen; i++) await new Promise((r) => setTimeout(r, 50));
      expect(first.isOpen).toBe(false);
      const second = await pool.connect(spec);
      expect(second).not.toBe(first);
      expect((await second.exec(['echo', 'back'])).stdout.toString()).toBe('back\n');
    } finally {
      await pool.closeAll();
    }
  });

  it('authenticates with a key handed over in memory (secret store) and with ssh-agent', async () => {
    const fromSecret = await loadCredentials({ key: { secret: 'DEPLOY_KEY' }, agent: false, baseDir: tmp, readSecret: async (name) => (name === 'DEPLOY_KEY' ? fleet.key.privateKey : '') });
    const c1 = await SshConnection.open(opts(plain, { credentials: fromSecret }));
    expect((await c1.exec(['id', '-un'])).stdout.toString().trim()).toBe('root');
    await c1.close();

    const sock = join(tmp, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise<void>((resolve, reject) => {
        const add = spawn('ssh-add', [fleet.key.file], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
        add.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`))));
      });
      const viaAgent = await loadCredentials({ agent: true, baseDir: tmp, env: { SSH_AUTH_SOCK: sock } });
      expect(viaAgent.privateKey).toBeUndefined();
      const c2 = await SshConnection.open(opts(plain, { credentials: viaAgent }));
      expect((await c2.exec(['id', '-un'])).stdout.toString().trim()).toBe('root');
      await c2.close();
    } finally {
      agent.kill();
    }
  });

  it('a key the host does not accept is a clear SSH_AUTH_FAILED naming the host', async () => {
    const other = generateKey(tmp, 'other_key');
    const wrong = await loadCredentials({ key: { file: other.file }, agent: false, baseDir: tmp });
    const e = await failure(SshConnection.open(opts(plain, { credentials: wrong })));
    expect(e.code).toBe('SSH_AUTH_FAILED');
    expect(e.message).toContain(plain.container);
    expect(e.message).toContain('other_key');
    expect(e.hint).toMatch(/authorized_keys/);
  });

  it('refuses a host whose key is not in known_hosts, and names the key it presented', async () => {
    const file = knownHosts('kh-empty', '');
    const e = await failure(SshConnection.open(opts(plain, { knownHostsFile: file })));
    expect(e.code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(e.message).toContain(plain.container);
    expect(e.message).toMatch(/SHA256:[A-Za-z0-9+/]{43}/);
    expect(e.hint).toMatch(/trust_on_first_use/);
    expect(readFileSync(file, 'utf8')).toBe('');
    // A missing file is the same: unknown, and nothing is created.
    const missing = join(tmp, 'no-such-dir', 'known_hosts');
    expect((await failure(SshConnection.open(opts(plain, { knownHostsFile: missing })))).code).toBe('SSH_HOST_KEY_UNKNOWN');
    expect(existsSync(missing)).toBe(false);
  });

  it('trust_on_first_use records the key (in a form OpenSSH reads), and the next connection is checked against it', async () => {
    const file = join(tmp, 'tofu', 'known_hosts');
    const c1 = await SshConnection.open(opts(plain, { knownHostsFile: file, trustOnFirstUse: true }));
    await c1.close();
    const recorded = readFileSync(file, 'utf8');
    expect(recorded).toMatch(/^\|1\|[^ ]+ ssh-ed25519 AAAA/);
    expect(recorded).not.toContain(plain.ip); // hashed, like ssh's HashKnownHosts
    // OpenSSH's own tool finds the host in the file, with the key the host really has.
    const found = await new Promise<string>((resolve) => {
      const p = spawn('ssh-keygen', ['-F', plain.ip, '-f', file]);
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.on('exit', () => resolve(out));
    });
    expect(plain.hostKeys.some((k) => found.includes(k))).toBe(true);
    const c2 = await SshConnection.open(opts(plain, { knownHostsFile: file, trustOnFirstUse: false }));
    await c2.close();
    expect(readFileSync(file, 'utf8')).toBe(recorded); // nothing appended the second time
  });

  it('refuses a host whose key CHANGED, even with trust_on_first_use, and leaves known_hosts alone', async () => {
    // The file says `plain`'s address has the bastion's keys: what a man in the middle (or a rebuilt host) looks like.
    const file = knownHosts('kh-changed', bastion.knownHostsLines(plain.ip));
    const before = readFileSync(file, 'utf8');
    const e = await failure(SshConnection.open(opts(plain, { knownHostsFile: file, trustOnFirstUse: true })));
    expect(e.code).toBe('SSH_HOST_KEY_CHANGED');
    expect(e.message).toContain(plain.container);
    expect(e.message).toMatch(/CHANGED/);
    expect(e.hint).toMatch(/ssh-keygen -R/);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('argv reaches the remote program literally: spaces, quotes, $(...), ;, backticks, globs, newlines', async () => {
    const conn = await SshConnection.open(opts(plain));
    try {
      const awkward = ['a b', "it's", '"double"', '$(touch /tmp/pwned1)', '; touch /tmp/pwned2', '`touch /tmp/pwned3`', '*', '$HOME', 'back\\slash', 'new\nline', '', '-n', '&& echo hi', '| cat', "'", '\\', '~', '%s'];
      const r = await conn.exec(['python3', '-c', 'import sys, json; print(json.dumps(sys.argv[1:]))', ...awkward]);
      expect(r.stderr.toString()).toBe('');
      expect(JSON.parse(r.stdout.toString())).toEqual(awkward);
      // Even the program name is not a shell word.
      const weird = await conn.exec(['/no such; touch /tmp/pwned4', 'x']);
      expect(weird.code).toBe(127);
      for (const f of ['/tmp/pwned1', '/tmp/pwned2', '/tmp/pwned3', '/tmp/pwned4']) expect(await plain.exec('sh', '-c', `test -e ${f} && echo yes || echo no`)).toBe('no');
      await expect(conn.exec(['echo', 'nul\0byte'])).rejects.toThrow(/NUL/);
    } finally {
      await conn.close();
    }
  });

  it('streams stdin to a remote program (file transfer path)', async () => {
    const conn = await SshConnection.open(opts(plain));
    try {
      const data = randomBytes(4 * 1024 * 1024);
      // Sent in 64 KiB pieces from a stream: nothing requires the whole payload in one buffer.
      const chunks = Array.from({ length: data.length / 65536 }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));
      const r = await conn.exec(['sha256sum'], { stdin: Readable.from(chunks) });
      expect(r.stdout.toString().split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      await conn.close();
    }
  });

  it('a command past its timeout fails with SSH_COMMAND_TIMEOUT and the remote program is killed', async () => {
    const conn = await SshConnection.open(opts(plain));
    try {
      const t0 = Date.now();
      const e = await failure(conn.exec(['sleep', '37'], { timeoutMs: 1_000 }));
      expect(e.code).toBe('SSH_COMMAND_TIMEOUT');
      expect(e.message).toContain(plain.container);
      expect(Date.now() - t0).toBeLessThan(4_000);
      // Killed on the host soon after (sshd refuses signals in root sessions: the host's own `timeout` does it).
      const sleeping = async () => (await plain.exec('ps', '-eo', 'args')).split('\n').some((l) => l.trim() === 'sleep 37');
      let left = true;
      for (let i = 0; i < 20 && left; i++) {
        left = await sleeping();
        if (left) await new Promise((r) => setTimeout(r, 250));
      }
      expect(left).toBe(false);
      // The connection is still usable afterwards.
      expect((await conn.exec(['echo', 'still here'])).stdout.toString()).toBe('still here\n');
    } finally {
      await conn.close();
    }
  });

  it('connecting to an address nothing answers at fails within connect_timeout, without stalling other hosts', async () => {
    const deadIp = victim.ip;
    await docker('kill', victim.container);
    const pool = new SshPool({ ...opts(plain), connectTimeoutMs: 1_500, defaultUser: 'root', knownHostsFile: knownHosts('kh-dead', plain.knownHostsLines(), victim.knownHostsLines(deadIp)) });
    try {
      const t0 = Date.now();
      const dead = pool.connect({ name: victim.container, host: deadIp, port: 22 });
      const alive = await pool.connect({ name: plain.container, host: plain.ip, port: 22 });
      expect(Date.now() - t0).toBeLessThan(1_400); // the live host did not wait for the dead one
      expect((await alive.exec(['true'])).code).toBe(0);
      const e = await failure(dead);
      const took = Date.now() - t0;
      expect(e.code).toBe('SSH_CONNECT_TIMEOUT');
      expect(e.message).toContain(victim.container);
      expect(e.message).toContain(deadIp);
      expect(took).toBeGreaterThanOrEqual(1_400);
      expect(took).toBeLessThan(4_000);
    } finally {
      await pool.closeAll();
    }
    // A refused port is told apart from a timeout.
    const refused = await failure(SshConnection.open(opts(plain, { endpoint: { host: plain.ip, port: 2, user: 'root', name: plain.container } })));
    expect(refused.code).toBe('SSH_CONNECT_FAILED');
    expect(refused.message).toMatch(/connection refused/);
  });

  it('reaches a host only reachable through a bastion, and the session really comes from the bastion', async () => {
    const innerIp = inner.ips[INNER_NET]!;
    const file = knownHosts('kh-bastion', bastion.knownHostsLines(), inner.knownHostsLines(innerIp));
    // Directly, the inner host refuses us: its key is only accepted from the bastion's address.
    const direct = await failure(SshConnection.open(opts(inner, { endpoint: { host: innerIp, port: 22, user: 'root', name: inner.container }, knownHostsFile: file })));
    expect(direct.code).toBe('SSH_AUTH_FAILED');

    const config = sshConfigSchema.parse({ hosts: [`root@${innerIp}`], bastion: `root@${bastion.ip}`, key: fleet.key.file, agent: false, known_hosts: file, connect_timeout: '10s' });
    const pool = await SshPool.fromConfig(config, { baseDir: tmp });
    try {
      const conn = await pool.connect(config.hosts[0]!);
      const r = await conn.exec(['printenv', 'SSH_CONNECTION']);
      expect(r.stdout.toString().split(' ')[0]).toBe(bastion.ips[INNER_NET]);
      expect((await conn.exec(['hostname'])).stdout.toString().trim()).toBe(inner.container.slice(-20));
      // The bastion's host key is checked too: an unknown bastion is refused by name.
      const strict = await SshPool.fromConfig({ ...config, known_hosts: knownHosts('kh-no-bastion', inner.knownHostsLines(innerIp)) }, { baseDir: tmp });
      const e = await failure(strict.connect(config.hosts[0]!));
      expect(e.code).toBe('SSH_HOST_KEY_UNKNOWN');
      expect(e.message).toContain(bastion.ip);
      await strict.closeAll();
    } finally {
      await pool.closeAll();
    }
  });

  it('HTTP to a server on the host\'s loopback goes through a forwarded channel (undici and node:http); no port is opened', async () => {
    const conn = await SshConnection.open(opts(plain));
    try {
      const port = 8765;
      const server = "require('http').createServer((q, s) => s.end('hello from ' + require('os').hostname() + ' ' + q.method + ' ' + q.url)).listen(" + port + ", '127.0.0.1')";
      const started = await conn.exec(['systemd-run', '--unit', 'gantry-test-http', '--', 'node', '-e', server]);
      expect(started.code, started.stderr.toString()).toBe(0);
      const dispatcher = tunnelDispatcher(conn, port);
      try {
        let body = '';
        for (let i = 0; i < 50 && !body; i++) {
          body = await request('http://agent.invalid/status?x=1', { dispatcher }).then(
            (r) => r.body.text(),
            () => '',
          );
          if (!body) await new Promise((r) => setTimeout(r, 100));
        }
        expect(body).toBe(`hello from ${plain.container.slice(-20)} GET /status?x=1`);
        // Several requests at once over the same SSH connection.
        const bodies = await Promise.all(Array.from({ length: 10 }, (_, i) => request(`http://agent.invalid/r${i}`, { method: 'POST', body: 'x', dispatcher }).then((r) => r.body.text())));
        expect(bodies).toEqual(Array.from({ length: 10 }, (_, i) => `hello from ${plain.container.slice(-20)} POST /r${i}`));
      } finally {
        await dispatcher.close();
      }
      const viaHttp = await new Promise<string>((resolve, reject) => {
        get({ host: 'agent.invalid', path: '/via-node-http', agent: tunnelHttpAgent(conn, port) }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve(text));
        }).on('error', reject);
      });
      expect(viaHttp).toBe(`hello from ${plain.container.slice(-20)} GET /via-node-http`);
      // The server listens on the host's loopback only: from here it cannot be reached directly.
      const direct = await fetch(`http://${plain.ip}:${port}/`).then(
        () => 'reached',
        () => 'unreachable',
      );
      expect(direct).toBe('unreachable');
      // A port nothing listens on is a clear channel error.
      const e = await failure(conn.openTcp('127.0.0.1', 8799));
      expect(e.code).toBe('SSH_CHANNEL_FAILED');
      expect(e.message).toContain(plain.container);
    } finally {
      await conn.exec(['systemctl', 'stop', 'gantry-test-http']).catch(() => undefined);
      await conn.close();
    }
  });
});
