/**
 * A one-off command on this machine with the caller's stdio (`gantry exec` on local
 * targets): argv, never a shell. Streams backed by a descriptor (the CLI's own
 * stdin/stdout/stderr, a terminal) are handed to the child as they are, so a TTY
 * stays a TTY; other streams are piped.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { ExecIO } from '../../engine/target.js';

const fdOf = (s: unknown): number | undefined => {
  const fd = (s as { fd?: unknown }).fd;
  return typeof fd === 'number' ? fd : undefined;
};

/** The exit code a shell would report: the command's own, or 128 + the signal that ended it; 127 when it cannot be found. */
export function spawnExec(argv: string[], opts: { cwd: string; env: Record<string, string>; io: ExecIO }): Promise<{ exitCode: number }> {
  const { io } = opts;
  const stdio: StdioOptions = [fdOf(io.stdin) ?? 'pipe', fdOf(io.stdout) ?? 'pipe', fdOf(io.stderr) ?? 'pipe'];
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio });
    if (child.stdin) {
      (io.stdin as Readable).pipe(child.stdin);
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
    }
    child.stdout?.pipe(io.stdout as Writable, { end: false });
    child.stderr?.pipe(io.stderr as Writable, { end: false });
    child.on('error', (err: NodeJS.ErrnoException) => {
      io.stderr.write(`gantry exec: ${argv[0]}: ${err.code === 'ENOENT' ? 'command not found' : err.message}\n`);
      resolve({ exitCode: err.code === 'ENOENT' ? 127 : 126 });
    });
    child.on('close', (code, signal) => {
      if (child.stdin) (io.stdin as Readable).unpipe(child.stdin);
      resolve({ exitCode: code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0) });
    });
  });
}
