/**
 * The CLI face of autoscaling: a detached loop per app+target that calls the
 * engine's autoscaleTick. Started after a deploy/start/scale when the manifest
 * has `autoscale`, stopped by `gantry stop` (and it exits by itself when the
 * app is stopped or the manifest drops `autoscale`).
 */
import { pidAlive } from '../core/pid.js';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULTS } from '../core/defaults.js';
import type { AutoscaleState } from '../engine/index.js';
import { openSession, type GlobalOptions, type Session } from './context.js';

const BIN = fileURLToPath(new URL('../../bin/gantry.js', import.meta.url));

function pidFile(stateDir: string, app: string, target: string): string {
  return join(stateDir, 'autoscale', `${app}--${target}.json`);
}


/** The recorded loop's pid, if that pid still runs our autoscaler (a reused pid belongs to someone else). */
function readPid(file: string): number | undefined {
  try {
    const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
    if (!pidAlive(pid)) return undefined;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    return argv.includes('autoscaler') ? pid : undefined;
  } catch {
    return undefined;
  }
}

function targetOf(s: Session, opts: GlobalOptions): string {
  return opts.target ?? s.engine.targetNames(s.loaded)[0]!;
}

export function ensureAutoscaler(s: Session, opts: GlobalOptions): void {
  if (!s.loaded.manifest.autoscale) return;
  const target = targetOf(s, opts);
  const file = pidFile(s.stateDir, s.loaded.manifest.app, target);
  if (readPid(file)) return;
  mkdirSync(join(s.stateDir, 'autoscale'), { recursive: true, mode: 0o700 });
  const log = openSync(file.replace(/\.json$/, '.log'), 'a', 0o600);
  const child = spawn(process.execPath, [BIN, 'autoscaler', '--file', s.loaded.file, '--target', target, ...(opts.env ? ['--env', opts.env] : [])], { detached: true, stdio: ['ignore', log, log], cwd: s.loaded.dir });
  child.unref();
  closeSync(log);
  writeFileSync(file, JSON.stringify({ pid: child.pid, startedAt: new Date().toISOString() }), { mode: 0o600 });
}

export function stopAutoscaler(s: Session, opts: GlobalOptions): void {
  const file = pidFile(s.stateDir, s.loaded.manifest.app, targetOf(s, opts));
  const pid = readPid(file);
  if (pid) process.kill(pid, 'SIGTERM');
  rmSync(file, { force: true });
}

/** The loop itself (hidden `gantry autoscaler` command). The manifest is read again on every tick. */
export async function runAutoscaler(opts: GlobalOptions): Promise<number> {
  const state: AutoscaleState = { lastChangeAt: 0 };
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  while (!stop) {
    let intervalMs: number = DEFAULTS.autoscale.maxIntervalMs;
    const s = openSession(opts);
    try {
      const cooldown = s.loaded.manifest.autoscale?.cooldown ?? DEFAULTS.autoscale.cooldownMs;
      intervalMs = Math.min(DEFAULTS.autoscale.maxIntervalMs, Math.max(DEFAULTS.autoscale.minIntervalMs, cooldown / 4));
      const r = await s.engine.autoscaleTick(s.loaded, opts.target, state);
      if (r.action !== 'none') process.stdout.write(`${new Date().toISOString()} ${r.action}${r.decision ? ` → ${r.decision.desired}: ${r.decision.reason}` : ''}${r.reason ? ` (${r.reason})` : ''}\n`);
      if (r.action === 'stop') return 0;
    } catch (err) {
      process.stdout.write(`${new Date().toISOString()} error: ${(err as Error).message}\n`);
    } finally {
      s.close();
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return 0;
}
