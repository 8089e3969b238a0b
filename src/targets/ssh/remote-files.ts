import type { Readable } from 'node:stream';
import { GantryError } from '../../core/errors.js';
import type { SshConnection } from './connection.js';

/**
 * Files on a host over the open connection, through fixed programs whose arguments are
 * data (`sh -c SCRIPT sh ARG...`: the script is a constant, paths arrive as $1, $2):
 * nothing Gantry sends is parsed by a shell.
 */

// umask 077 before the file exists: it is never readable by others, even for an instant.
const WRITE_SCRIPT = 'set -e; umask 077; mkdir -p -- "$(dirname -- "$1")"; cat > "$1.gantry-tmp"; chmod "$2" "$1.gantry-tmp"; mv -f -- "$1.gantry-tmp" "$1"';

/** Writes `content` to `path` on the host (atomically: a temporary file renamed), with `mode` (octal string such as "600"). */
export async function writeRemoteFile(conn: SshConnection, path: string, content: Buffer | string | Readable, mode: string, timeoutMs?: number): Promise<void> {
  if (!/^[0-7]{3,4}$/.test(mode)) throw new GantryError('INTERNAL', `invalid file mode ${mode}`);
  const r = await conn.exec(['sh', '-c', WRITE_SCRIPT, 'sh', path, mode], { stdin: content, ...(timeoutMs !== undefined ? { timeoutMs } : {}) });
  if (r.code !== 0) throw new GantryError('SSH_COMMAND_FAILED', `could not write ${path} on ${conn.label}: ${r.stderr.toString().trim() || `exit ${r.code}`}`, 'check the disk space and the permissions of the target path on the host');
}

/** The file's text, or undefined when it does not exist. */
export async function readRemoteFile(conn: SshConnection, path: string): Promise<string | undefined> {
  const r = await conn.exec(['sh', '-c', 'if [ -f "$1" ]; then cat -- "$1"; else exit 3; fi', 'sh', path]);
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new GantryError('SSH_COMMAND_FAILED', `could not read ${path} on ${conn.label}: ${r.stderr.toString().trim() || `exit ${r.code}`}`);
  return r.stdout.toString('utf8');
}

/** Runs argv on the host; a non-zero exit is an error naming the host and the program's stderr. */
export async function execOk(conn: SshConnection, argv: string[], what: string, opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await conn.exec(argv, opts);
  if (r.code !== 0) throw new GantryError('SSH_COMMAND_FAILED', `${what} failed on ${conn.label}: ${r.stderr.toString().trim() || `${argv[0]} exited with ${r.code ?? r.signal}`}`, `run \`${argv.join(' ')}\` on the host to see why`);
  return r.stdout.toString('utf8');
}
