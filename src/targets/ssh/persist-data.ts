/**
 * Backup and restore of persist paths on a fleet: each host's `<path>/<app>/shared/<p>` is
 * pulled into a local staging folder (one per host and path) that the backup archives, and a
 * restore sends each staging folder back to its host, swapped in whole. Both go as tar
 * streams over the open connection through fixed scripts (paths arrive as arguments).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import * as tar from 'tar';
import { GantryError } from '../../core/errors.js';
import type { DataDir } from '../../engine/target.js';
import type { SshConnection } from './connection.js';
import type { HostSpec } from './host-spec.js';
import { appDirOf } from './remote-script.js';
import { remotePersistPath } from './transfer.js';

// Exit 3: the path was never created on this host (nothing persisted yet): an empty folder here.
const PULL_SCRIPT = 'set -e; d="$1/shared/$2"; [ -d "$d" ] || exit 3; exec tar -C "$d" -cf - .';
// Unpacked beside the live folder, then swapped in by rename: a failed transfer changes nothing.
const PUSH_SCRIPT = `set -e
d="$1/shared/$2"; n="$1/shared/.restore-$$"; o="$1/shared/.replaced-$$"
mkdir -p "$(dirname -- "$d")"; rm -rf -- "$n"; mkdir -p -- "$n"
tar -C "$n" -xf - || { rm -rf -- "$n"; exit 4; }
if [ -e "$d" ]; then mv -T -- "$d" "$o"; fi
mv -T -- "$n" "$d"; rm -rf -- "$o"`;

export interface PersistDataInput {
  readonly hosts: readonly HostSpec[];
  readonly connect: (spec: HostSpec) => Promise<SshConnection>;
  readonly remoteRoot: string;
  readonly app: string;
  readonly persist: readonly string[];
  /** Local folder the staging copies live in (cleared per host and path before a pull). */
  readonly stagingDir: string;
  readonly purpose: 'backup' | 'restore';
}

/** One data dir per host and persist path; pulled now for a backup, pushed back by commit() after a restore. */
export async function persistDataDirs(input: PersistDataInput): Promise<DataDir[]> {
  const appDir = appDirOf(input.remoteRoot, input.app);
  const paths = input.persist.map(remotePersistPath);
  const dirs: DataDir[] = [];
  for (const host of input.hosts) {
    for (const p of paths) {
      const dir = join(input.stagingDir, host.name, ...p.split('/'));
      dirs.push({
        name: `host-${host.name}-${p.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
        dir,
        kind: 'data',
        commit: async () => pushPath(await input.connect(host), appDir, p, dir),
      });
    }
  }
  if (input.purpose === 'backup') {
    await Promise.all(input.hosts.map(async (host) => {
      const conn = await input.connect(host);
      for (const p of paths) await pullPath(conn, appDir, p, join(input.stagingDir, host.name, ...p.split('/')));
    }));
  }
  return dirs;
}

async function pullPath(conn: SshConnection, appDir: string, p: string, dir: string): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const unpack = tar.x({ cwd: dir, preserveOwner: false });
  const unpacked = new Promise<void>((resolve, reject) => {
    unpack.on('close', () => resolve());
    unpack.on('error', reject);
  });
  const r = await conn.exec(['sh', '-c', PULL_SCRIPT, 'sh', appDir, p], { stdout: unpack as unknown as Writable, timeoutMs: 0 });
  unpack.end();
  await unpacked;
  if (r.code !== 0 && r.code !== 3) throw new GantryError('SSH_COMMAND_FAILED', `could not read ${appDir}/shared/${p} on ${conn.label} for the backup: ${r.stderr.toString().trim() || `exit ${r.code}`}`, 'check the disk and the permissions on the host, then run the backup again');
}

async function pushPath(conn: SshConnection, appDir: string, p: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  // A Node stream (tar's is a Minipass): sent once, never retried half-consumed.
  const pack = Readable.from(tar.c({ cwd: dir, portable: true }, ['.']));
  const r = await conn.exec(['sh', '-c', PUSH_SCRIPT, 'sh', appDir, p], { stdin: pack, timeoutMs: 0 });
  if (r.code !== 0) throw new GantryError('SSH_COMMAND_FAILED', `could not put ${appDir}/shared/${p} back on ${conn.label}: ${r.stderr.toString().trim() || `exit ${r.code}`}`, 'the host keeps what it had there; check its disk space, then run the restore again');
}
