// The process target's peer: PM2 (npm `pm2`) running hello-node as a cluster app,
// replaced with `pm2 reload`. Installed into a bench-local cache
// (~/.cache/gantry/bench-peers, `npm install --prefix`), never into the project's
// dependencies; its daemon gets a PM2_HOME of its own and is killed at the end.
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { healthy } from './app.js';
import { alive, checkAborted, killPid, onCleanup } from './cleanup.js';
import { EXAMPLE_DIR } from './gantry.js';
import { now, sleep } from './timing.js';

const run = promisify(execFile);
export const PEERS_DIR = join(homedir(), '.cache', 'gantry', 'bench-peers');
const PM2_SPEC = 'pm2@7';
const PM2_BIN = join(PEERS_DIR, 'node_modules', 'pm2', 'bin', 'pm2');

/** The pm2 CLI's path, installed with npm into PEERS_DIR when missing; throws with the reason. */
export async function ensurePm2(log) {
  if (existsSync(PM2_BIN)) return PM2_BIN;
  log(`  installing ${PM2_SPEC} into ${PEERS_DIR} (npm install --prefix)`);
  try {
    await run('npm', ['install', '--prefix', PEERS_DIR, '--no-audit', '--no-fund', '--no-save', PM2_SPEC], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    throw new Error(`npm install ${PM2_SPEC} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' ')}`);
  }
  if (!existsSync(PM2_BIN)) throw new Error(`npm install ${PM2_SPEC} left no ${PM2_BIN}`);
  return PM2_BIN;
}

/**
 * hello-node copied to a temp dir and started by PM2 in cluster mode (`-i instances`) on
 * 127.0.0.1:port; resolves once /health answers. PM2 stops workers with SIGTERM
 * (PM2_KILL_SIGNAL), which the example handles by finishing in-flight requests, as
 * Gantry's stop does, and waits up to 6 s for them (kill_timeout).
 */
export async function startPm2App({ bin, port, instances, name = 'bench-pm2' }) {
  checkAborted();
  const base = mkdtempSync(join(tmpdir(), 'gantry-bench-pm2-'));
  const dir = join(base, 'app');
  const home = join(base, 'pm2');
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (p) => !p.split('/').includes('.gantry') });
  const env = { ...process.env, PM2_HOME: home, PM2_KILL_SIGNAL: 'SIGTERM', PORT: String(port), HOST: '127.0.0.1', GANTRY_RELEASE: 'pm2' };
  const pm2 = (args, timeout = 120_000) => run(process.execPath, [bin, ...args], { cwd: dir, env, timeout, maxBuffer: 16 * 1024 * 1024 });
  const stop = onCleanup(`pm2 daemon (PM2_HOME ${home})`, async () => {
    await pm2(['kill'], 30_000).catch(() => undefined);
    // Belt and braces: the daemon by the pid it recorded, if `pm2 kill` left it.
    let pid;
    try {
      pid = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'));
    } catch {
      pid = undefined;
    }
    if (pid && alive(pid)) await killPid(pid, { graceMs: 3000 });
    rmSync(base, { recursive: true, force: true });
  });
  try {
    await pm2(['start', 'server.js', '--name', name, '-i', String(instances), '--kill-timeout', '6000']);
    const deadline = now() + 30_000;
    while (!(await healthy(port))) {
      if (now() > deadline) throw new Error(`pm2 app not healthy on 127.0.0.1:${port} after 30 s`);
      await sleep(20);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  let rev = 0;
  return {
    dir,
    stop,
    /** Change the code (a comment line), as the Gantry runs do before each deploy. */
    bump: () => appendFileSync(join(dir, 'server.js'), `// bench revision ${++rev}\n`),
    /** `pm2 reload <name>`: resolves its wall ms. */
    async reload() {
      checkAborted();
      const t0 = now();
      await pm2(['reload', name]);
      return now() - t0;
    },
    version: async () => (await pm2(['--version'])).stdout.trim().split('\n').pop(),
  };
}
