import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { utils } from 'ssh2';
import { engineProblem } from './docker.js';

/**
 * Real SSH hosts for tests: containers booting systemd with sshd, from the image
 * scripts/build-vm-image.sh builds (gantry-vm:bookworm). Each host generates its own host
 * keys at boot; a key generated per test run is authorized for root. Start them once per
 * test file (beforeAll) and remove them in afterAll: only containers this process made
 * (by name and label) are removed, plus those a crashed earlier test run left behind.
 */
const run = promisify(execFile);
const IMAGE = 'gantry-vm:bookworm';
const VM_LOCK = '/var/lib/gantry-test/vm-image.lock';
const VM_PROBLEM = '/var/lib/gantry-test/vm-image.problem';
const LABEL = 'dev.gantry.test=ssh-hosts';
/** The flags TESTBED.md gives for systemd in a container (--privileged does not work here). */
const SYSTEMD_FLAGS = ['--cap-add', 'SYS_ADMIN', '--cap-add', 'NET_ADMIN', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--tmpfs', '/run', '--tmpfs', '/run/lock', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--cgroupns=host'];

export const docker = (...args: string[]) => run('docker', args, { maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout.trim());

/**
 * scripts/test-infra.sh builds the image in the background (minutes on a fresh machine) under
 * this lock: wait for it (bounded), as the tests that need it run alongside the others.
 */
async function imageBuilt(): Promise<void> {
  if (!existsSync(VM_LOCK)) return;
  await run('flock', ['-s', '-w', '1500', VM_LOCK, 'true']).catch(() => undefined);
}

/** Why real SSH hosts cannot be started here, or undefined when they can. */
export const sshHostsProblem: string | undefined =
  engineProblem ??
  (await imageBuilt().then(() => docker('image', 'inspect', '--format', '{{.Id}}', IMAGE)).then(
    () => undefined,
    () => (existsSync(VM_PROBLEM) ? readFileSync(VM_PROBLEM, 'utf8').trim() : `image ${IMAGE} missing: scripts/test-infra.sh (scripts/build-vm-image.sh) builds it`),
  ));

export interface TestKey {
  readonly privateKey: string;
  readonly publicKey: string;
  /** The private key written to a file (0600). */
  readonly file: string;
}

export interface TestHost {
  readonly container: string;
  /** On the first network the host is attached to. */
  readonly ip: string;
  /** Its address on each network it is attached to. */
  readonly ips: Readonly<Record<string, string>>;
  readonly port: 22;
  /** "ssh-ed25519 AAAA..." lines, read from the host itself (not learnt over the network). */
  readonly hostKeys: readonly string[];
  /** known_hosts lines for this host at `address` (default: its ip). */
  knownHostsLines(address?: string): string;
  /** Runs argv in the host through `docker exec` (setup and checks, not the code under test). */
  exec(...argv: string[]): Promise<string>;
}

export interface TestHosts {
  readonly hosts: TestHost[];
  readonly key: TestKey;
  readonly dir: string;
  /** Wall time to start all hosts until each answers on ssh, in ms. */
  readonly startedInMs: number;
  remove(): Promise<void>;
}

export interface StartOptions {
  /** Unique per test file: part of container names. */
  readonly tag: string;
  /** Docker networks to attach (created by the caller); default: the bridge. */
  readonly networks?: (index: number) => string[];
  /** authorized_keys options before the key (e.g. `from="172.18.0.2"`). */
  readonly keyOptions?: (index: number) => string | undefined;
  /** Authorize this key instead of generating one (hosts of several start calls sharing a key). */
  readonly key?: TestKey;
}

export function generateKey(dir: string, name = 'id_ed25519'): TestKey {
  // ssh2 writes about 1 ed25519 pair in 256 that its own parser then refuses ("Malformed OpenSSH ... key": a
  // public key starting with a zero byte loses it, mscdex/ssh2#1390): a pair is kept only once both halves parse.
  let pair = utils.generateKeyPairSync('ed25519', { comment: 'gantry-test' });
  while (utils.parseKey(pair.private) instanceof Error || utils.parseKey(pair.public) instanceof Error) pair = utils.generateKeyPairSync('ed25519', { comment: 'gantry-test' });
  const file = join(dir, name);
  writeFileSync(file, pair.private, { mode: 0o600 });
  return { privateKey: pair.private, publicKey: pair.public.trim(), file };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes hosts whose test process is gone (a crashed or killed run). */
async function removeLeftovers(): Promise<void> {
  const rows = (await docker('ps', '-a', '--filter', `label=${LABEL}`, '--format', '{{.Names}} {{.Label "dev.gantry.test-pid"}}')).split('\n').filter(Boolean);
  const stale = rows.map((r) => r.split(' ')).filter(([, pid]) => !pid || !alive(Number(pid))).map(([name]) => name!);
  if (stale.length) await docker('rm', '-f', ...stale).catch(() => undefined);
  const nets = (await docker('network', 'ls', '--filter', `label=${LABEL}`, '--format', '{{.Name}} {{.Label "dev.gantry.test-pid"}}')).split('\n').filter(Boolean);
  for (const [name, pid] of nets.map((r) => r.split(' '))) if (name && (!pid || !alive(Number(pid)))) await removeNetwork(name);
}

async function sshAnswers(ip: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(22, ip);
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('SSH-2.0-')));
    s.once('error', () => done(false));
  });
}

async function waitReady(container: string, ip: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  let state = '';
  while (Date.now() < deadline) {
    state = await docker('exec', container, 'systemctl', 'is-system-running').catch((e: { stdout?: string }) => (e.stdout ?? '').trim());
    if ((state === 'running' || state === 'degraded') && (await sshAnswers(ip))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`test host ${container} did not come up within 60 s (systemd: ${state || 'no answer'})`);
}

/** Starts n hosts and waits until each runs systemd and answers on ssh. */
export async function startSshHosts(n: number, opts: StartOptions): Promise<TestHosts> {
  if (sshHostsProblem) throw new Error(sshHostsProblem);
  await removeLeftovers();
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `gantry-sshhosts-${opts.tag}-`));
  const key = opts.key ?? generateKey(dir);
  const names = Array.from({ length: n }, (_, i) => `gantry-sshhost-${opts.tag}-${process.pid}-${i + 1}`);
  const created: string[] = [];
  const remove = async () => {
    if (created.length) await docker('rm', '-f', ...created).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const hosts = await Promise.all(
      names.map(async (name, i) => {
        const authorized = join(dir, `authorized_keys_${i + 1}`);
        const options = opts.keyOptions?.(i);
        writeFileSync(authorized, `${options ? `${options} ` : ''}${key.publicKey}\n`);
        chmodSync(authorized, 0o600);
        const [first, ...more] = opts.networks?.(i) ?? [];
        created.push(name);
        await docker('run', '-d', '--name', name, '--hostname', name.slice(-20), '--label', LABEL, '--label', `dev.gantry.test-pid=${process.pid}`, ...SYSTEMD_FLAGS, ...(first ? ['--network', first] : []), '-v', `${authorized}:/root/.ssh/authorized_keys:ro`, IMAGE);
        for (const net of more) await docker('network', 'connect', net, name);
        const ips = JSON.parse(await docker('inspect', '--format', '{{json .NetworkSettings.Networks}}', name)) as Record<string, { IPAddress: string }>;
        const ip = ips[first ?? 'bridge']!.IPAddress;
        await waitReady(name, ip);
        const exec = (...argv: string[]) => docker('exec', name, ...argv);
        const hostKeys = (await exec('sh', '-c', 'cat /etc/ssh/ssh_host_*_key.pub')).split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')).filter(Boolean);
        const host: TestHost = { container: name, ip, ips: Object.fromEntries(Object.entries(ips).map(([k, v]) => [k, v.IPAddress])), port: 22, hostKeys, knownHostsLines: (address = ip) => hostKeys.map((k) => `${address} ${k}\n`).join(''), exec };
        return host;
      }),
    );
    return { hosts, key, dir, startedInMs: Date.now() - t0, remove };
  } catch (e) {
    await remove();
    throw e;
  }
}

/** A docker network for a test (removed by the caller with removeNetwork). */
export async function createNetwork(name: string, opts: { internal?: boolean } = {}): Promise<string> {
  await docker('network', 'rm', name).catch(() => undefined);
  await docker('network', 'create', '--label', LABEL, '--label', `dev.gantry.test-pid=${process.pid}`, ...(opts.internal ? ['--internal'] : []), name);
  return name;
}

export async function removeNetwork(name: string): Promise<void> {
  await docker('network', 'rm', name).catch(() => undefined);
}
