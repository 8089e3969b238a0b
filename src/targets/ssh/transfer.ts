import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import tarStream from 'tar-stream';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { SshConnection } from './connection.js';
import type { HostSpec } from './host-spec.js';
import type { ReleaseLocation } from './layout.js';
import type { SshPool } from './pool.js';
import { BLOB_NAME_RE, indexRelease, type ReleaseIndex } from './release-index.js';
import { appDirOf, assertReleaseId, assertRemoteRoot, runScript } from './remote-script.js';

/**
 * Content-addressed, incremental transfer of a release to a host (layout: layout.ts).
 *
 * 1. The local release directory is hashed once (release-index.ts), for all hosts.
 * 2. One round trip asks the host which blobs of the release its store lacks (the list goes
 *    gzip'd over stdin, the missing names come back); it also cleans what an interrupted run left.
 * 3. The missing blobs go as one gzip'd tar stream over the same connection into a fixed
 *    receiver script, which unpacks them in a private folder, checks every sha256, and only
 *    then links them into `<path>/.blobs/<aa>/<sha256>.<mode>` (a blob never exists half-written).
 * 4. The release is assembled from the store: a gzip'd tar of the tree alone (directories
 *    with their modes, symlinks, and each file as a hard link to its blob) is unpacked into
 *    `releases/.tmp-<id>-<token>`, persist paths are linked to `shared/`, and the folder is
 *    renamed to `releases/<id>` only when complete. A crash leaves only the temp folder, which
 *    the next transfer removes.
 *
 * Release files are hard links into the store: a release is immutable (writes go to persist paths).
 * The store and the releases must be on one filesystem (hard links), under the target's `path`.
 *
 * Cost: the changed files' bytes (gzip'd) plus a fixed ~75-85 bytes per entry of the tree
 * (the blob query and the tree both list every entry): ~2.5 KB for hello-node, ~65 KB for
 * 850 files, ~800 KB for 10,000. Sending only the tree's difference from the host's current
 * release would remove that per-entry part (not done yet).
 */

export interface SyncOptions extends ReleaseLocation {
  /** The release directory built locally (e.g. by the process target's build), without persist links. */
  readonly localDir: string;
  /** Already hashed (syncReleaseToHosts hashes once for every host). */
  readonly index?: ReleaseIndex;
  /** Persist paths: linked to `<path>/<app>/shared/<p>` (seeded from this release's copy when shared has none yet). */
  readonly persist?: readonly string[];
  /** Per remote command of the transfer (default: the connection's command timeout). */
  readonly timeoutMs?: number;
  /** Called as bytes go out (compressed bytes, the total so far). */
  readonly onProgress?: (bytesSent: number) => void;
  /** Shares compressed payloads between hosts (syncReleaseToHosts sets it, with one token for all hosts). */
  readonly cache?: PayloadCache;
  /** Names the temp folders of this transfer (hex); random by default. */
  readonly token?: string;
}

export interface SyncResult {
  /** Bytes written to the host (compressed payloads of the three steps). */
  readonly bytesSent: number;
  /** Blobs the host lacked and received. */
  readonly filesSent: number;
  /** Files in the release. */
  readonly filesTotal: number;
  /** Uncompressed size of the blobs sent. */
  readonly blobBytesSent: number;
  /** The release was already on the host: nothing assembled. */
  readonly alreadyPresent: boolean;
}

const PERSIST_RE = /^(?!-)[A-Za-z0-9._@+-]+(?:\/[A-Za-z0-9._@+-]+)*$/;

const PREPARE_SCRIPT = `set -eu
root=$1; d="$1/$2"; id=$3
mkdir -p "$root/.blobs" "$d/releases" "$d/shared"
for t in "$d"/releases/.tmp-* "$d"/releases/.trash-*; do
  [ -e "$t" ] || continue
  chmod -R u+w "$t" 2>/dev/null || true
  rm -rf "$t"
done
find "$root/.blobs" -mindepth 1 -maxdepth 1 -name '.incoming-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
if [ -d "$d/releases/$id" ]; then echo present; exit 0; fi
echo missing
cd "$root/.blobs"
gzip -dc | while IFS= read -r b; do [ -e "$b" ] || printf '%s\\n' "$b"; done`;

const RECEIVE_SCRIPT = `set -eu
b="$1/.blobs"; in="$b/.incoming-$2"; expected=$3
mkdir "$in"
trap 'chmod -R u+w "$in" 2>/dev/null || true; rm -rf "$in"' EXIT
gzip -dc | tar -x -p --no-same-owner -f - -C "$in"
cd "$in"
find . -type f -exec sha256sum -- {} + | awk '{ n = $2; sub(/^[.][/][0-9a-f][0-9a-f][/]/, "", n); if (substr(n, 1, 64) != $1) { print "blob " substr($2, 3) " does not match its sha256" > "/dev/stderr"; bad = 1 } } END { exit bad }'
count=$(find . -type f | wc -l)
[ "$count" -eq "$expected" ] || { echo "expected $expected blobs, received $count" >&2; exit 3; }
cp -Rlf ./. "$b/"`;

const ASSEMBLE_SCRIPT = `set -eu
d="$1/$2"; id=$3; tmp=".tmp-$3-$4"; shift 4
cd "$d/releases"
trap 'if [ -e "$tmp" ]; then chmod -R u+w "$tmp" 2>/dev/null || true; rm -rf "$tmp"; fi' EXIT
[ ! -e "$id" ] || { echo "release $id is already on this host" >&2; exit 3; }
gzip -dc | tar -x -P -p --no-same-owner -f -
[ -d "$tmp" ] || { echo "the release tree was empty" >&2; exit 3; }
while [ $# -ge 2 ]; do
  p=$1; link=$2; shift 2
  s="$d/shared/$p"
  if [ ! -e "$s" ] && [ ! -L "$s" ]; then
    mkdir -p -- "$(dirname -- "$s")"
    if [ -d "$tmp/$p" ] && [ ! -L "$tmp/$p" ]; then cp -a -- "$tmp/$p" "$s.seed-$$"; mv -T -- "$s.seed-$$" "$s"; else mkdir -p -- "$s"; fi
  fi
  if [ -e "$tmp/$p" ] || [ -L "$tmp/$p" ]; then chmod -R u+w -- "$tmp/$p" 2>/dev/null || true; rm -rf -- "$tmp/$p"; fi
  mkdir -p -- "$(dirname -- "$tmp/$p")"
  ln -s -- "$link" "$tmp/$p"
done
mv -T -- "$tmp" "$id"`;

/** Counts the bytes that go to the host. */
class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes: (n: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes(chunk.length);
    cb(null, chunk);
  }
}

/**
 * Persist paths: validated, checked against the local tree (no symlink on the way to one),
 * and turned into (path, relative link target) pairs for the assemble script. A persist path
 * that is a symlink locally (a release built with local persist links) is left out of the transfer.
 */
/** A persist path as it is used on a host (no trailing slash), refused when it is not plain names. */
export function remotePersistPath(raw: string): string {
  const p = raw.replace(/\/+$/, '');
  if (!PERSIST_RE.test(p) || p.split('/').some((s) => s === '.' || s === '..')) throw new GantryError('MANIFEST_INVALID', `persist path "${raw}" cannot be used on an ssh host`, 'use a relative path of plain names inside the app, e.g. "data" or "var/uploads"');
  return p;
}

export function persistPlan(index: ReleaseIndex, persist: readonly string[]): { pairs: string[]; skip: string[] } {
  const kinds = new Map(index.entries.map((e) => [e.rel, e.kind]));
  const pairs: string[] = [];
  const skip: string[] = [];
  for (const raw of persist) {
    const p = remotePersistPath(raw);
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (kinds.get(parts.slice(0, i).join('/')) === 'symlink') throw new GantryError('MANIFEST_INVALID', `persist path "${p}": ${parts.slice(0, i).join('/')} is a symlink in the release`, 'a persistent path must be a real directory (or absent) in the app; Gantry makes the link itself');
    }
    if (kinds.get(p) === 'symlink') skip.push(p);
    pairs.push(p, `${'../'.repeat(parts.length + 1)}shared/${p}`);
  }
  return { pairs, skip };
}

type Fill = (pack: tarStream.Pack) => Promise<void>;

/** A gzip'd tar stream; fill() adds the entries. A local read error ends the stream with it. */
function tarGz(fill: Fill): { stream: Readable; done: Promise<void>; destroy: () => void } {
  const pack = tarStream.pack();
  const gzip = createGzip();
  pack.pipe(gzip);
  const done = fill(pack).then(() => void pack.finalize());
  done.catch((e: Error) => gzip.destroy(e));
  return {
    stream: gzip,
    done,
    destroy: () => {
      pack.destroy();
      gzip.destroy();
    },
  };
}

/**
 * Payloads that are the same for several hosts (the usual case: every host is at the same
 * previous release, so lacks the same blobs) are compressed once into a temp file that each
 * host's stream reads: the local CPU spent does not grow with the number of hosts.
 */
export class PayloadCache {
  private readonly files = new Map<string, Promise<string>>();
  private dir: string | undefined;

  file(key: string, fill: Fill): Promise<string> {
    const known = this.files.get(key);
    if (known) return known;
    const making = (async () => {
      this.dir ??= mkdtempSync(join(tmpdir(), 'gantry-payload-'));
      const file = join(this.dir, createHash('sha256').update(key).digest('hex'));
      const t = tarGz(fill);
      try {
        await Promise.all([pipeline(t.stream, createWriteStream(file, { mode: 0o600 })), t.done]);
      } finally {
        t.destroy();
      }
      return file;
    })();
    this.files.set(key, making);
    making.catch(() => this.files.delete(key));
    return making;
  }

  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
    this.files.clear();
  }
}

/** Sends a gzip'd tar (made now, or taken from the cache) into a fixed script's stdin. */
async function sendTar(conn: SshConnection, name: string, script: string, args: string[], counter: (n: number) => void, fill: Fill, opts: { timeoutMs?: number; what: string; cache?: PayloadCache; cacheKey: string }): Promise<void> {
  const live = opts.cache ? undefined : tarGz(fill);
  const source: Readable = live ? live.stream : createReadStream(await opts.cache!.file(opts.cacheKey, fill));
  const out = new ByteCounter(counter);
  source.on('error', (e) => out.destroy(e));
  source.pipe(out);
  try {
    await runScript(conn, name, script, args, { stdin: out, ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}), code: 'SSH_TRANSFER_FAILED', what: opts.what });
    await live?.done;
  } finally {
    live?.destroy();
    source.destroy();
    out.destroy();
  }
}

function addFile(pack: tarStream.Pack, header: Parameters<tarStream.Pack["entry"]>[0], abs: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const entry = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    createReadStream(abs).on('error', reject).pipe(entry);
  });
}

/**
 * Brings one release to one host: only the blobs it lacks travel, the release appears as
 * `<path>/<app>/releases/<id>` complete or not at all. Does not switch `current` (layout.ts).
 */
export async function syncRelease(conn: SshConnection, opts: SyncOptions): Promise<SyncResult> {
  appDirOf(opts.path, opts.app);
  const root = assertRemoteRoot(opts.path);
  const id = assertReleaseId(opts.releaseId);
  const index = opts.index ?? (await indexRelease(opts.localDir, { skip: localPersistLinks(opts.localDir, opts.persist ?? []) }));
  const persist = persistPlan(index, opts.persist ?? []);
  const skipped = (rel: string) => persist.skip.some((s) => rel === s || rel.startsWith(`${s}/`));
  const entries = index.entries.filter((e) => !skipped(e.rel));
  const blobsOfRelease = new Set(entries.flatMap((e) => (e.kind === 'file' ? [e.blob] : [])));
  const filesTotal = entries.filter((e) => e.kind === 'file').length;
  let bytesSent = 0;
  const count = (n: number) => {
    bytesSent += n;
    opts.onProgress?.(bytesSent);
  };
  const timeout = opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {};
  const token = opts.token ?? randomBytes(6).toString('hex');
  if (!/^[0-9a-f]{8,32}$/.test(token)) throw new GantryError('INTERNAL', `invalid transfer token "${token}"`);

  // 1. Which blobs does the host lack?
  const list = gzipSync(Buffer.from([...blobsOfRelease].map((b) => `${b}\n`).join('')));
  count(list.length);
  const answer = (await runScript(conn, 'prepare', PREPARE_SCRIPT, [root, opts.app, id], { stdin: list, ...timeout, code: 'SSH_TRANSFER_FAILED', what: `prepare release ${id}` })).split('\n');
  if (answer[0] === 'present') return { bytesSent, filesSent: 0, filesTotal, blobBytesSent: 0, alreadyPresent: true };
  const missing = answer.slice(1).filter((b) => BLOB_NAME_RE.test(b) && blobsOfRelease.has(b));

  // 2. Send them (one tar stream), checked on the host before they enter the store.
  let blobBytesSent = 0;
  if (missing.length > 0) {
    await sendTar(
      conn,
      'receive',
      RECEIVE_SCRIPT,
      [root, token, String(missing.length)],
      count,
      async (pack) => {
        for (const name of missing) {
          const blob = index.blobs.get(name)!;
          await addFile(pack, { name, type: 'file', size: blob.size, mode: blob.mode }, blob.abs);
          blobBytesSent += blob.size;
        }
      },
      { ...timeout, what: `send ${missing.length} files of release ${id}`, ...(opts.cache ? { cache: opts.cache } : {}), cacheKey: `blobs\n${missing.join('\n')}` },
    );
  }

  // 3. Assemble from the store under a temp name, rename when complete.
  const tmp = `.tmp-${id}-${token}`;
  const blobDir = `${root === '/' ? '' : root}/.blobs`;
  await sendTar(
    conn,
    'assemble',
    ASSEMBLE_SCRIPT,
    [root, opts.app, id, token, ...persist.pairs],
    count,
    async (pack) => {
      pack.entry({ name: tmp, type: 'directory', mode: index.rootMode });
      for (const e of entries) {
        const name = `${tmp}/${e.rel}`;
        if (e.kind === 'dir') pack.entry({ name, type: 'directory', mode: e.mode });
        else if (e.kind === 'symlink') pack.entry({ name, type: 'symlink', linkname: e.target });
        else pack.entry({ name, type: 'link', linkname: `${blobDir}/${e.blob}` });
      }
    },
    { ...timeout, what: `assemble release ${id}`, ...(opts.cache ? { cache: opts.cache } : {}), cacheKey: `tree\n${tmp}\n${blobDir}\n${persist.skip.join('\n')}` },
  );
  return { bytesSent, filesSent: missing.length, filesTotal, blobBytesSent, alreadyPresent: false };
}

/** Persist paths that are symlinks in the local release (made by a local build): not transferred. */
function localPersistLinks(localDir: string, persist: readonly string[]): string[] {
  return persist.map((p) => p.replace(/\/+$/, '')).filter((p) => lstatSync(join(localDir, p), { throwIfNoEntry: false })?.isSymbolicLink());
}

export type HostSyncResult = ({ readonly ok: true } & SyncResult & { readonly host: string; readonly ms: number }) | { readonly ok: false; readonly host: string; readonly ms: number; readonly error: GantryError };

/**
 * The same release to many hosts at once (at most `parallel`, default DEFAULTS.ssh.parallel),
 * each independent: the local tree is hashed once; a host that fails (unreachable, killed,
 * full disk, timed out) gets its own error naming it and never stops or delays the others.
 * One result per host, in the order of `hosts`.
 */
export async function syncReleaseToHosts(
  pool: SshPool,
  hosts: readonly HostSpec[],
  opts: Omit<SyncOptions, 'index' | 'onProgress'> & { parallel?: number; onProgress?: (host: string, bytesSent: number) => void },
): Promise<HostSyncResult[]> {
  const index = await indexRelease(opts.localDir, { skip: localPersistLinks(opts.localDir, opts.persist ?? []) });
  const cache = new PayloadCache();
  const token = randomBytes(6).toString('hex');
  const results: HostSyncResult[] = new Array(hosts.length);
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      const host = hosts[i]!;
      const t0 = Date.now();
      try {
        const conn = await pool.connect(host);
        const { onProgress, parallel: _parallel, ...rest } = opts;
        const r = await syncRelease(conn, { ...rest, index, cache, token, ...(onProgress ? { onProgress: (b: number) => onProgress(host.name, b) } : {}) });
        results[i] = { ok: true, host: host.name, ms: Date.now() - t0, ...r };
      } catch (e) {
        results[i] = { ok: false, host: host.name, ms: Date.now() - t0, error: namingHost(e, host.name, opts.releaseId) };
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(opts.parallel ?? DEFAULTS.ssh.parallel, hosts.length) }, worker));
  } finally {
    cache.dispose();
  }
  return results;
}

function namingHost(e: unknown, host: string, releaseId: string): GantryError {
  const err = e instanceof GantryError ? e : new GantryError('SSH_TRANSFER_FAILED', (e as Error).message ?? String(e));
  if (err.message.includes(host) && err.message.includes(releaseId)) return err;
  const context = `transfer of release ${releaseId} to ${host} failed`;
  return new GantryError(err.code, err.message.includes(host) ? `${context}: ${err.message}` : `${context}: ${host}: ${err.message}`, err.hint);
}
