import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/gantry.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Run the real gantry CLI as a child process (no stdin), like a user or CI would. */
export function gantry(args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): Promise<CliResult> {
  return spawnGantry(args, opts).done;
}

/** The same, handing back the child too (to send it SIGINT like a Ctrl-C); `signal` is how it ended if a signal killed it. */
export function spawnGantry(args: string[], opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number }): { child: ChildProcess; done: Promise<CliResult & { signal: NodeJS.Signals | null }> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null }>((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 110_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr, json, signal });
    });
  });
  return { child, done };
}

/** A fresh copy of an example app in its own temp dir (its own .gantry state). */
export function copyExample(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `gantry-${name}-`));
  cpSync(join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !src.includes('.gantry') });
  return dir;
}

/** Stop every agent under dir's .gantry (by the pid they recorded), for test cleanup. */
export function killAgents(dir: string): void {
  killAgentsIn(join(dir, '.gantry', 'apps'));
}

/** Stop every agent recorded under an engine's apps directory (`<app>/agents/<target>/agent.json`). */
export function killAgentsIn(appsDir: string): void {
  if (!existsSync(appsDir)) return;
  for (const app of readdirSync(appsDir)) {
    const agents = join(appsDir, app, 'agents');
    if (!existsSync(agents)) continue;
    for (const t of readdirSync(agents)) {
      const info = join(agents, t, 'agent.json');
      if (!existsSync(info)) continue;
      try {
        process.kill(JSON.parse(readFileSync(info, 'utf8')).pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
}

/** `printf %s VALUE | gantry secrets set NAME`: the value travels on stdin only, never in argv. */
export function setSecret(cwd: string, name: string, value: string, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [BIN, 'secrets', 'set', name, '--json', ...extra], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(value);
  });
}

/** Poll `gantry status` until the running deploy waits for something containing `what` (a paused canary, the watch window); bounded to ~20 s. */
export async function waitUntilWaiting(cwd: string, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const st = (await gantry(['status', '--json'], { cwd })).json?.targets?.[0];
    if (st?.deploying?.waiting?.includes(what)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the deploy never waited for "${what}"`);
}
