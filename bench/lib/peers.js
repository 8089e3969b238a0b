// Peer proxies started by hand for the proxy section: the minimal Node proxy
// (always), nginx and HAProxy (installed from Debian when missing).
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { killPid, onCleanup } from './cleanup.js';
import { ROOT } from './gantry.js';

const run = promisify(execFile);

/** Start bench/peer-proxy.js on listenPort in front of upstreamPort; resolves { pid, url, stop }. */
export function startNodePeer(listenPort, upstreamPort) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'peer-proxy.js'), String(listenPort), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const stop = onCleanup(`node peer proxy pid ${child.pid}`, () => (child.exitCode === null && child.signalCode === null ? killPid(child.pid, { graceMs: 2000 }) : undefined));
    const timer = setTimeout(() => void stop().then(() => reject(new Error('node peer proxy did not start'))), 10_000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve({ pid: child.pid, url: `http://127.0.0.1:${listenPort}`, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node peer proxy exited with ${code}`));
    });
  });
}

/** The path of a command on PATH (or in /usr/sbin, where Debian puts daemons), undefined when absent. */
export function commandPath(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/**
 * nginx and haproxy from Debian, installed with apt-get when missing. Resolves
 * { nginx, haproxy } → the binary's path, or a note saying why that peer cannot run.
 */
export async function ensureProxyPeers(log) {
  const want = { nginx: 'nginx-light', haproxy: 'haproxy' };
  const missing = Object.keys(want).filter((c) => !commandPath(c));
  let installError;
  if (missing.length) {
    if (process.getuid?.() !== 0) installError = 'not root: apt-get cannot install it';
    else {
      log(`  installing ${missing.map((c) => want[c]).join(' ')} (apt-get)`);
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      const apt = (...args) => run('apt-get', args, { env, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 });
      const pkgs = missing.map((c) => want[c]);
      try {
        await apt('install', '-y', '--no-install-recommends', ...pkgs).catch(async () => {
          await apt('update');
          await apt('install', '-y', '--no-install-recommends', ...pkgs);
        });
      } catch (err) {
        installError = `apt-get install ${pkgs.join(' ')} failed: ${String(err.stderr || err.message).trim().split('\n').pop()}`;
      }
    }
  }
  const out = {};
  for (const c of Object.keys(want)) out[c] = commandPath(c) ?? { missing: `${c} not installed (${installError ?? 'apt-get did not provide it'}): peer skipped` };
  return out;
}
