import { GantryError } from '../../core/errors.js';

/**
 * sshd runs an exec request through the remote user's login shell (`$SHELL -c STRING`):
 * there is no argv on the wire. Every argument is therefore single-quoted (the one quoting
 * in which POSIX shells interpret nothing; a quote inside is written '\''), and the command
 * is prefixed with `exec` so the program replaces the shell and receives signals directly.
 */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new GantryError('USAGE', 'a remote command argument contains a NUL byte', 'remove the NUL byte: it cannot be passed to a program');
  // Plain words need no quotes: keeps commands readable in logs.
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The string sent in the exec request for an argv array. With `killAfterMs`, coreutils'
 * `timeout` kills the program on the host itself once that time is up: sshd refuses
 * "signal" requests in root sessions (no privilege separation child there), and a command
 * must not outlive a connection that dropped.
 */
export function remoteCommandLine(argv: readonly string[], opts: { killAfterMs?: number } = {}): string {
  if (argv.length === 0 || !argv[0]) throw new GantryError('INTERNAL', 'a remote command needs a program name');
  const guard = opts.killAfterMs && opts.killAfterMs > 0 ? `timeout -s KILL ${(Math.ceil(opts.killAfterMs / 100) / 10).toFixed(1)}s ` : '';
  return `exec ${guard}${argv.map(quoteArg).join(' ')}`;
}
