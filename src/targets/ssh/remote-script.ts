import { GantryError, type ErrorCode } from '../../core/errors.js';
import { APP_NAME_RE, assertSafeSegment } from '../../core/names.js';
import type { ExecOptions, SshConnection } from './connection.js';

/**
 * Work on a host's files is done by small fixed `sh` scripts (constants in this code): the
 * values they work on (paths, names, ids) are positional arguments ("$1"...), validated
 * here first, and file contents go over stdin. Nothing from a manifest becomes script text.
 */
export async function runScript(
  conn: SshConnection,
  name: string,
  script: string,
  args: readonly string[],
  opts: ExecOptions & { code: ErrorCode; what: string },
): Promise<string> {
  const r = await conn.exec(['sh', '-c', script, `gantry-${name}`, ...args], opts);
  if (r.code !== 0) {
    const why = r.stderr.toString('utf8').trim().split('\n').slice(-5).join('; ') || (r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`);
    throw new GantryError(opts.code, `${conn.label}: could not ${opts.what}: ${why}`, 'check the host (disk space, permissions on the target path) and run the command again');
  }
  return r.stdout.toString('utf8');
}

/** The target's `path`, as config.ts accepts it: absolute, plain characters, no "..". */
export function assertRemoteRoot(path: string): string {
  if (!/^\/(?:[A-Za-z0-9._-]+\/?)*$/.test(path) || path.split('/').includes('..')) {
    throw new GantryError('USAGE', `invalid remote path "${path}"`, 'use an absolute directory such as "/opt/gantry" (letters, digits, ".", "_", "-")');
  }
  return path.replace(/\/+$/, '') || '/';
}

export function assertAppName(app: string): string {
  if (!APP_NAME_RE.test(app)) throw new GantryError('USAGE', `invalid app name "${app}"`, "an app name may contain only lowercase letters, digits and '-'");
  return app;
}

export const assertReleaseId = (id: string): string => assertSafeSegment('release id', id);

/** `<path>/<app>`: the app's directory on a host (releases/, current, shared/, meta/). */
export function appDirOf(path: string, app: string): string {
  const root = assertRemoteRoot(path);
  return `${root === '/' ? '' : root}/${assertAppName(app)}`;
}
