/**
 * `gantry exec` on a host: the command (argv, no shell) runs as a transient systemd unit
 * (`systemd-run --wait`, `--pipe` or `--pty` with a terminal) in the release's directory,
 * its environment from an env file at 0600: the instance's own when it runs beside one,
 * else one written for this command and removed afterwards. Values never reach a command
 * line; output streams back over the session and the exit status is the command's.
 */
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { envFileLine, systemdLiteral } from '../../agent/systemd-instances.js';
import type { ExecIO } from '../../engine/target.js';
import type { SshConnection } from './connection.js';
import { writeRemoteFile } from './remote-files.js';

export interface RemoteExec {
  unitPrefix: string;
  envDir: string;
  cwd: string;
  argv: string[];
  /** The env file of the instance it runs beside (already on the host). */
  instanceEnvFile?: string;
  /** Otherwise: the environment, written to a file of its own. */
  env: Record<string, string>;
  io: ExecIO;
}

export async function runRemoteExec(conn: SshConnection, x: RemoteExec): Promise<{ exitCode: number }> {
  const name = `exec-${randomBytes(4).toString('hex')}`;
  const own = x.instanceEnvFile ? undefined : `${x.envDir}/${name}.env`;
  if (own) await writeRemoteFile(conn, own, Object.entries(x.env).map(([k, v]) => envFileLine(k, v)).join(''), '600');
  const tty = x.io.tty;
  // systemd would expand $VAR in the command line: every argument arrives as given.
  const literal = x.argv.map(systemdLiteral);
  const argv = ['systemd-run', '--wait', '--collect', '--quiet', tty ? '--pty' : '--pipe', '--unit', `${x.unitPrefix}${name}.service`, '--description', 'Gantry exec', '--working-directory', x.cwd, '--property', `EnvironmentFile=${own ?? x.instanceEnvFile}`, '--', ...literal];
  const stdin = x.io.stdin as Readable & { setRawMode?: (raw: boolean) => void; isTTY?: boolean };
  const raw = tty && stdin.isTTY && typeof stdin.setRawMode === 'function';
  if (raw) stdin.setRawMode!(true);
  try {
    const out = x.io.stdout as NodeJS.WritableStream & { columns?: number; rows?: number; on?: (e: string, f: () => void) => unknown; off?: (e: string, f: () => void) => unknown };
    const r = await conn.stream(argv, {
      stdin,
      stdout: x.io.stdout,
      stderr: x.io.stderr,
      ...(tty ? { pty: { term: process.env.TERM ?? 'xterm', cols: x.io.columns ?? 80, rows: x.io.rows ?? 24 } } : {}),
      ...(tty
        ? {
            onResize: (apply: (cols: number, rows: number) => void) => {
              const follow = (): void => apply(out.columns ?? 80, out.rows ?? 24);
              out.on?.('resize', follow);
              return () => void out.off?.('resize', follow);
            },
          }
        : {}),
    });
    return { exitCode: r.code ?? 1 };
  } finally {
    if (raw) stdin.setRawMode!(false);
    if (own) await conn.exec(['rm', '-f', '--', own]).catch(() => undefined);
  }
}
