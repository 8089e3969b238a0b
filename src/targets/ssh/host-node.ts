import { createReadStream, statSync } from 'node:fs';
import { GantryError } from '../../core/errors.js';
import type { SshConnection } from './connection.js';
import { writeRemoteFile } from './remote-files.js';

/**
 * Which Node runs the agent on a host. The host's own `node` when it is new enough for
 * the bundle (`source: 'host'`); otherwise Gantry brings its own: the Node binary running
 * Gantry here (`process.execPath`), uploaded once per version to
 * `<path>/.gantry/node/<version>/node` (`source: 'gantry'`). Hosts then need only sshd
 * and systemd. The hosts must be able to run this machine's binary (same CPU
 * architecture, glibc Linux), which is checked by running it there.
 */
export interface HostNode {
  /** Absolute path of the node binary on the host. */
  binary: string;
  version: string;
  source: 'host' | 'gantry';
  /** Why that one (for events and doctor). */
  reason: string;
}

/** "v20.18.1" -> [20, 18, 1]; undefined for anything else. */
export function parseNodeVersion(text: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function atLeast(version: [number, number, number], min: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (version[i] !== min[i]) return version[i]! > min[i]!;
  return true;
}

/** The host's own node: its path and version, or undefined when there is none. */
async function hostNode(conn: SshConnection): Promise<{ binary: string; version: string } | undefined> {
  const r = await conn.exec(['sh', '-c', 'p=$(command -v node) || exit 3; printf "%s\\n" "$p"; exec "$p" --version']);
  if (r.code !== 0) return undefined;
  const [binary, version] = r.stdout.toString('utf8').trim().split('\n');
  return binary && version && parseNodeVersion(version) ? { binary, version: version.trim() } : undefined;
}

async function versionOf(conn: SshConnection, binary: string): Promise<string | undefined> {
  const r = await conn.exec([binary, '--version']);
  return r.code === 0 ? r.stdout.toString('utf8').trim() : undefined;
}

/** The Node the agent runs on at `root` (the target's path) on this host; uploads Gantry's own when the host has none new enough. */
export async function ensureHostNode(conn: SshConnection, root: string, minVersion: string, opts: { localNode?: string; uploadTimeoutMs?: number } = {}): Promise<HostNode> {
  const min = parseNodeVersion(minVersion)!;
  const own = await hostNode(conn);
  if (own && atLeast(parseNodeVersion(own.version)!, min)) return { ...own, source: 'host', reason: `the host's node ${own.version} is at least ${minVersion}` };
  const why = own ? `the host's node ${own.version} (${own.binary}) is older than ${minVersion}` : 'the host has no node';
  const local = opts.localNode ?? process.execPath;
  const version = process.version;
  if (!atLeast(parseNodeVersion(version)!, min)) throw new GantryError('HOST_NODE_UNUSABLE', `${why}, and the Node running Gantry (${version}) is older than ${minVersion} too`, `install Node >= ${minVersion} on ${conn.label}, or run Gantry with Node >= ${minVersion}`);
  const binary = `${root}/.gantry/node/${version}/node`;
  if ((await versionOf(conn, binary)) === version) return { binary, version, source: 'gantry', reason: `${why}: Gantry's own Node ${version} is already there` };
  await writeRemoteFile(conn, binary, createReadStream(local), '755', opts.uploadTimeoutMs ?? Math.max(120_000, Math.ceil(statSync(local).size / 1_000)));
  const ran = await versionOf(conn, binary);
  if (ran !== version) throw new GantryError('HOST_NODE_UNUSABLE', `${why}, and Gantry's own Node ${version} uploaded to ${binary} does not run there (${ran ?? 'it failed to start'})`, `install Node >= ${minVersion} on ${conn.label} (e.g. from nodesource.com): the host differs from this machine (CPU architecture or C library)`);
  return { binary, version, source: 'gantry', reason: `${why}: uploaded Gantry's own Node ${version}` };
}
