import { createHash } from 'node:crypto';
import { createReadStream, readlinkSync, statSync } from 'node:fs';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { walkSourceTree } from '../../core/source-tree.js';

/**
 * What a local release directory holds, for a content-addressed transfer: every directory
 * (with its mode), symlink (with its target) and regular file (with its sha256 and mode),
 * walked like every release copy (src/core/source-tree.ts: no .gantry/.git, symlinks not
 * followed, sockets and devices left out).
 *
 * A file becomes the blob `<aa>/<sha256>.<mode>`: the mode is part of the name because the
 * release's files are hard links to the blob, and hard links share their mode.
 */
export type IndexEntry =
  | { readonly kind: 'dir'; readonly rel: string; readonly mode: number }
  | { readonly kind: 'symlink'; readonly rel: string; readonly target: string }
  | { readonly kind: 'file'; readonly rel: string; readonly blob: string; readonly size: number };

export interface IndexedBlob {
  readonly name: string;
  readonly abs: string;
  readonly size: number;
  readonly mode: number;
  readonly sha256: string;
}

export interface ReleaseIndex {
  readonly localDir: string;
  /** Parents before children. */
  readonly entries: readonly IndexEntry[];
  /** Distinct blobs by name. */
  readonly blobs: ReadonlyMap<string, IndexedBlob>;
  readonly files: number;
  readonly bytes: number;
  /** The mode of the release directory itself. */
  readonly rootMode: number;
}

export const BLOB_NAME_RE = /^[0-9a-f]{2}\/[0-9a-f]{64}\.[0-7]{3}$/;

export function blobName(sha256: string, mode: number): string {
  return `${sha256.slice(0, 2)}/${sha256}.${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** A name has to travel as text (tar headers, remote arguments): one that is not UTF-8 is refused, not mangled. */
function text(bytes: Buffer, what: string, localDir: string): string {
  const s = bytes.toString('utf8');
  if (!Buffer.from(s, 'utf8').equals(bytes) || s.includes('\n')) {
    throw new GantryError('SSH_TRANSFER_FAILED', `${what} ${JSON.stringify(bytes.toString('latin1'))} in ${localDir} is not a plain UTF-8 name`, 'rename it: the ssh target transfers names as UTF-8 text without newlines');
  }
  return s;
}

function sha256Of(abs: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(abs).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** Runs fn over items, at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Hashes a local release directory. `skip` lists relative paths left out with everything
 * under them (persist paths that are links to the local shared dir: the host has its own).
 */
export async function indexRelease(localDir: string, opts: { skip?: readonly string[] } = {}): Promise<ReleaseIndex> {
  const walked = walkSourceTree(localDir);
  const skip = opts.skip ?? [];
  const skipped = (rel: string) => skip.some((s) => rel === s || rel.startsWith(`${s}/`));
  const entries: IndexEntry[] = [];
  const files: Array<{ slot: number; abs: Buffer; rel: string; size: number; mode: number }> = [];
  for (const { abs, rel: relBytes, stat } of walked) {
    const rel = text(relBytes, 'the file name', localDir);
    if (skipped(rel)) continue;
    if (stat.isDirectory()) entries.push({ kind: 'dir', rel, mode: stat.mode & 0o7777 });
    else if (stat.isSymbolicLink()) entries.push({ kind: 'symlink', rel, target: text(readlinkSync(abs, { encoding: 'buffer' }), 'the symlink target', localDir) });
    else if (stat.isFile()) {
      files.push({ slot: entries.length, abs, rel, size: stat.size, mode: stat.mode & 0o777 });
      entries.push({ kind: 'file', rel, blob: '', size: stat.size });
    }
  }
  const blobs = new Map<string, IndexedBlob>();
  await eachLimited(files, DEFAULTS.ssh.hashConcurrency, async (f) => {
    const sha256 = await sha256Of(f.abs);
    const name = blobName(sha256, f.mode);
    entries[f.slot] = { kind: 'file', rel: f.rel, blob: name, size: f.size };
    if (!blobs.has(name)) blobs.set(name, { name, abs: f.abs.toString('utf8'), size: f.size, mode: f.mode, sha256 });
  });
  return { localDir, entries, blobs, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), rootMode: statSync(localDir).mode & 0o7777 };
}
