import { spawn } from 'node:child_process';
import { TailBuffer } from '../core/bounded.js';

/**
 * The user's command through an explicit shell (their text is one argv
 * element); output captured, bounded in time. It runs in its own process
 * group so a timeout kills what the shell started too (npm → sh → node).
 * Used for the process target's tasks and, in the agent, for command health probes.
 */
export function runShellCapture(command: string, opts: { cwd?: string; env: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const output = new TailBuffer(); // bounded: only the end of what it prints is kept
    let timedOut = false;
    const take = (d: Buffer): void => output.push(d);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      child.stdout.destroy();
      child.stderr.destroy();
    }, opts.timeoutMs);
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, output: e.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Output still buffered in the pipes arrives before 'close'; don't wait for grandchildren holding them.
      setImmediate(() => resolve({ exitCode: timedOut ? 124 : (code ?? (signal ? 128 : 1)), output: timedOut ? `${output.text()}\n(timed out after ${opts.timeoutMs}ms)` : output.text() }));
    });
  });
}
