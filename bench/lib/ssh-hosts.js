// SSH hosts for the fleet bench: containers booting systemd with sshd, from the image
// scripts/build-vm-image.sh builds (gantry-vm:bookworm), as test/helpers/ssh-hosts.ts
// starts them for the tests (a small JS copy, so the bench needs no test code). One key
// generated per run is authorized for root; each host's keys are read from the host itself
// into a known_hosts file. Only containers this process made are removed (by name), plus
// those an earlier bench run that is gone left behind (by label and its pid).
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { alive, checkAborted, onCleanup } from './cleanup.js';
import { sleep } from './timing.js';

const run = promisify(execFile);
export const VM_IMAGE = 'gantry-vm:bookworm';
const LABEL = 'dev.gantry.bench=ssh-fleet';
/** The flags TESTBED.md gives for systemd in a container (--privileged does not work here). */
const SYSTEMD_FLAGS = ['--cap-add', 'SYS_ADMIN', '--cap-add', 'NET_ADMIN', '--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined', '--tmpfs', '/run', '--tmpfs', '/run/lock', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--cgroupns=host'];
/** Hosts booted at once: 2 cores boot 30 systemd containers faster a few at a time than all together. */
const BOOT_CONCURRENCY = 6;

export const docker = (...args) => run('docker', args, { maxBuffer: 16 * 1024 * 1024 }).then((r) => r.stdout.trim());

/** Why the hosts cannot be started here (a sentence), or undefined when they can. */
export async function sshHostsProblem() {
  try {
    await docker('version', '--format', '{{.Server.Version}}');
  } catch (err) {
    return `no Docker engine (${err.message.split('\n')[0]})`;
  }
  try {
    await docker('image', 'inspect', '--format', '{{.Id}}', VM_IMAGE);
  } catch {
    return `image ${VM_IMAGE} missing: scripts/test-infra.sh (scripts/build-vm-image.sh) builds it`;
  }
  return undefined;
}

async function removeLeftovers() {
  const rows = (await docker('ps', '-a', '--filter', `label=${LABEL}`, '--format', '{{.Names}} {{.Label "dev.gantry.bench-pid"}}')).split('\n').filter(Boolean);
  const stale = rows.map((r) => r.split(' ')).filter(([, pid]) => !pid || !alive(Number(pid))).map(([name]) => name);
  if (stale.length) await docker('rm', '-f', ...stale).catch(() => undefined);
}

function sshAnswers(ip) {
  return new Promise((resolve) => {
    const s = connect(22, ip);
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1_000, () => done(false));
    s.once('data', (d) => done(d.toString().startsWith('SSH-2.0-')));
    s.once('error', () => done(false));
  });
}

async function waitReady(name, ip) {
  const deadline = Date.now() + 180_000;
  let state = '';
  while (Date.now() < deadline) {
    checkAborted();
    state = await docker('exec', name, 'systemctl', 'is-system-running').catch((e) => (e.stdout ?? '').trim());
    if ((state === 'running' || state === 'degraded') && (await sshAnswers(ip))) return;
    await sleep(250);
  }
  throw new Error(`bench host ${name} did not come up within 180 s (systemd: ${state || 'no answer'})`);
}

/**
 * Runs fn over items, at most `limit` at a time; resolves the results in order. After a
 * failure no new item starts, and the first error is thrown once every started one settled
 * (so a caller's cleanup never races an item still being set up).
 */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  let failure;
  const worker = async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure;
  return out;
}

/**
 * Boots n hosts and waits until each runs systemd and answers on ssh. Resolves
 * { hosts: [{ name, ip }], keyFile, knownHostsFile, dir, bootMs, remove }; the removal is
 * registered with the bench's cleanup as well.
 */
export async function startHosts(n, { tag = 'fleet', log = () => undefined } = {}) {
  checkAborted();
  await removeLeftovers();
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), `gantry-bench-${tag}-`));
  // ssh2 writes about 1 ed25519 pair in 256 that its own parser refuses (mscdex/ssh2#1390): keep one whose halves parse.
  let pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'gantry-bench' });
  while (ssh2.utils.parseKey(pair.private) instanceof Error || ssh2.utils.parseKey(pair.public) instanceof Error) pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'gantry-bench' });
  const keyFile = join(dir, 'id_ed25519');
  writeFileSync(keyFile, pair.private, { mode: 0o600 });
  const authorized = join(dir, 'authorized_keys');
  writeFileSync(authorized, `${pair.public.trim()}\n`);
  chmodSync(authorized, 0o600);
  const created = [];
  const remove = onCleanup(`bench ssh hosts (${tag})`, async () => {
    if (created.length) await docker('rm', '-f', ...created).catch(() => undefined);
    log(`  removed ${created.length} bench ssh host container(s)`);
    rmSync(dir, { recursive: true, force: true });
  });
  const names = Array.from({ length: n }, (_, i) => `gantry-bench-${tag}-${process.pid}-${i + 1}`);
  try {
    const hosts = await mapLimit(names, BOOT_CONCURRENCY, async (name) => {
      checkAborted();
      created.push(name);
      const id = await docker('run', '-d', '--name', name, '--hostname', name.slice(-20), '--label', LABEL, '--label', `dev.gantry.bench-pid=${process.pid}`, ...SYSTEMD_FLAGS, '-v', `${authorized}:/root/.ssh/authorized_keys:ro`, VM_IMAGE);
      const ip = await docker('inspect', '--format', '{{.NetworkSettings.IPAddress}}', name);
      const tb = Date.now();
      await waitReady(name, ip);
      log(`  ${name} up in ${Date.now() - tb} ms`);
      const hostKeys = (await docker('exec', name, 'sh', '-c', 'cat /etc/ssh/ssh_host_*_key.pub')).split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')).filter(Boolean);
      return { name, ip, hostKeys, id };
    });
    const knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, hosts.flatMap((h) => h.hostKeys.map((k) => `${h.ip} ${k}\n`)).join(''));
    return { hosts, keyFile, knownHostsFile, dir, bootMs: Date.now() - t0, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/** Runs argv in a host through `docker exec` (setup and checks, never the work being timed). */
export const hostExec = (host, ...argv) => docker('exec', host.name, ...argv);
