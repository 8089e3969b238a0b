import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { RELEASE_ID_RE, SAFE_SEGMENT_RE } from '../../core/names.js';
import type { SshConnection } from './connection.js';
import { appDirOf, assertReleaseId, assertRemoteRoot, runScript } from './remote-script.js';

/**
 * The layout of an app on a host (Capistrano's):
 *
 *   <path>/<app>/releases/<id>/   one directory per release, assembled by transfer.ts
 *   <path>/<app>/current          symlink to releases/<id>, switched atomically (rename(2))
 *   <path>/<app>/shared/<p>       persist paths, linked into each release
 *   <path>/<app>/meta/<id>.json   metadata per release (who, when, commit, result)
 *   <path>/.blobs/<aa>/<sha256>.<mode>   content-addressed store the releases are hard links into
 *
 * Every operation is a fixed script with validated arguments (remote-script.ts).
 */

export interface AppLocation {
  /** The target's `path` on the host (default /opt/gantry). */
  readonly path: string;
  readonly app: string;
}

export interface ReleaseLocation extends AppLocation {
  readonly releaseId: string;
}

export type ReleaseResult = 'pending' | 'succeeded' | 'failed' | 'rolled_back';

export interface ReleaseMetadata {
  readonly release: string;
  readonly app: string;
  /** Who deployed (user@machine). */
  readonly who: string;
  /** ISO time of the deploy. */
  readonly when: string;
  readonly commit?: string;
  readonly result: ReleaseResult;
  readonly duration_ms?: number;
  readonly bytes_sent?: number;
  readonly reason?: string;
}

export interface HostReleases {
  /** The release `current` points at, if any. */
  readonly current?: string;
  /** Release ids on the host, oldest first (ids start with their UTC time). */
  readonly releases: Array<{ id: string; metadata?: ReleaseMetadata }>;
}

const SWITCH_SCRIPT = `set -eu
d="$1/$2"; id=$3
[ -d "$d/releases/$id" ] || { echo "release $id is not on this host" >&2; exit 3; }
prev=$(readlink "$d/current" 2>/dev/null || true)
t="$d/.current-$$"
ln -sfn "releases/$id" "$t"
mv -T "$t" "$d/current"
printf '%s\\n' "$prev"`;

/**
 * Points `current` at a release atomically: a new symlink under a temporary name is renamed
 * over the old one (mv -T, i.e. rename(2)), so a reader sees the old or the new release, never
 * none. Returns the release it pointed at before.
 */
export async function switchCurrent(conn: SshConnection, loc: ReleaseLocation): Promise<{ previous?: string }> {
  appDirOf(loc.path, loc.app);
  const out = await runScript(conn, 'switch', SWITCH_SCRIPT, [assertRemoteRoot(loc.path), loc.app, assertReleaseId(loc.releaseId)], {
    code: 'SSH_LAYOUT_FAILED',
    what: `switch ${loc.app} to release ${loc.releaseId}`,
  });
  const previous = releaseOfLink(out.trim());
  return previous ? { previous } : {};
}

function releaseOfLink(target: string): string | undefined {
  const id = target.replace(/^releases\//, '');
  return id && (RELEASE_ID_RE.test(id) || SAFE_SEGMENT_RE.test(id)) ? id : undefined;
}

const LIST_SCRIPT = `set -eu
d="$1/$2"
[ -d "$d/releases" ] || exit 0
printf 'current\\t%s\\n' "$(readlink "$d/current" 2>/dev/null || true)"
for r in "$d"/releases/*; do [ -d "$r" ] && printf 'release\\t%s\\n' "\${r##*/}"; done
for m in "$d"/meta/*.json; do [ -f "$m" ] || continue; n=\${m##*/}; printf 'meta\\t%s\\t' "\${n%.json}"; head -c 65536 "$m" | tr -d '\\n'; printf '\\n'; done
exit 0`;

/** The releases on a host, `current`, and each release's metadata (one round trip). */
export async function listReleases(conn: SshConnection, loc: AppLocation): Promise<HostReleases> {
  appDirOf(loc.path, loc.app);
  const out = await runScript(conn, 'list', LIST_SCRIPT, [assertRemoteRoot(loc.path), loc.app], { code: 'SSH_LAYOUT_FAILED', what: `list the releases of ${loc.app}` });
  let current: string | undefined;
  const ids: string[] = [];
  const meta = new Map<string, ReleaseMetadata>();
  for (const line of out.split('\n')) {
    const [kind, a = '', ...rest] = line.split('\t');
    if (kind === 'current') current = releaseOfLink(a);
    else if (kind === 'release' && releaseOfLink(a) === a) ids.push(a);
    else if (kind === 'meta') {
      try {
        meta.set(a, JSON.parse(rest.join('\t')) as ReleaseMetadata);
      } catch {
        /* a damaged metadata file: the release is listed without it */
      }
    }
  }
  ids.sort();
  return { ...(current ? { current } : {}), releases: ids.map((id) => ({ id, ...(meta.has(id) ? { metadata: meta.get(id)! } : {}) })) };
}

const META_SCRIPT = `set -eu
d="$1/$2"; id=$3
[ -d "$d/releases/$id" ] || { echo "release $id is not on this host" >&2; exit 3; }
mkdir -p "$d/meta"
t="$d/meta/.$id.json.$$"
cat > "$t"
mv -f "$t" "$d/meta/$id.json"`;

/**
 * Writes (or replaces) a release's metadata file, meta/<id>.json, atomically (temp file +
 * rename). The content goes over stdin; it is written again when the deploy's result is known.
 */
export async function writeMetadata(conn: SshConnection, loc: ReleaseLocation, metadata: ReleaseMetadata): Promise<void> {
  appDirOf(loc.path, loc.app);
  assertReleaseId(loc.releaseId);
  if (metadata.release !== loc.releaseId || metadata.app !== loc.app) throw new GantryError('INTERNAL', `metadata of ${metadata.app}/${metadata.release} written for ${loc.app}/${loc.releaseId}`);
  await runScript(conn, 'meta', META_SCRIPT, [assertRemoteRoot(loc.path), loc.app, loc.releaseId], {
    stdin: JSON.stringify(metadata),
    code: 'SSH_LAYOUT_FAILED',
    what: `write the metadata of release ${loc.releaseId}`,
  });
}

const PRUNE_SCRIPT = `set -eu
root=$1; d="$1/$2"; grace=$3; shift 3
cur=$(readlink "$d/current" 2>/dev/null || true)
for id in "$@"; do
  [ "$cur" != "releases/$id" ] || { echo "refusing to remove $id: it is the current release" >&2; exit 3; }
done
for id in "$@"; do
  if [ -d "$d/releases/$id" ]; then
    t="$d/releases/.trash-$id-$$"
    mv -T "$d/releases/$id" "$t"
    chmod -R u+w "$t" 2>/dev/null || true
    rm -rf "$t"
  fi
  rm -f "$d/meta/$id.json"
done
[ -d "$root/.blobs" ] || exit 0
if [ "$grace" -gt 0 ]; then find "$root/.blobs" -mindepth 2 -maxdepth 2 -type f -links 1 -cmin +"$grace" -delete
else find "$root/.blobs" -mindepth 2 -maxdepth 2 -type f -links 1 -delete; fi`;

export interface PruneOptions extends AppLocation {
  /** Newest releases kept (default DEFAULTS.ssh.releasesKept = 5). */
  readonly keep?: number;
  /** Releases kept whatever their age (e.g. the one a deploy is switching to). */
  readonly protect?: readonly string[];
  /** Blobs no release links any more are removed once this old (minutes; default 60): a blob another app's transfer just sent is not yet linked. */
  readonly blobGraceMinutes?: number;
}

/**
 * Retention: keeps the newest `keep` releases, plus the current one and the last known-good
 * one (the newest whose metadata says succeeded) whatever their age; removes the others
 * (renamed away first, so no half-removed release keeps its name) and the blobs no release
 * uses any more. Returns what it removed and kept.
 */
export async function pruneReleases(conn: SshConnection, opts: PruneOptions): Promise<{ removed: string[]; kept: string[]; lastGood?: string }> {
  const keep = opts.keep ?? DEFAULTS.ssh.releasesKept;
  const grace = opts.blobGraceMinutes ?? 60;
  if (!Number.isInteger(keep) || keep < 1) throw new GantryError('USAGE', `keep must be a whole number ≥ 1 (got ${keep})`);
  if (!Number.isInteger(grace) || grace < 0) throw new GantryError('USAGE', `blobGraceMinutes must be a whole number ≥ 0 (got ${grace})`);
  const { current, releases } = await listReleases(conn, opts);
  const lastGood = [...releases].reverse().find((r) => r.metadata?.result === 'succeeded')?.id;
  const keepSet = new Set([...releases.slice(-keep).map((r) => r.id), ...(current ? [current] : []), ...(lastGood ? [lastGood] : []), ...(opts.protect ?? [])]);
  const removed = releases.map((r) => r.id).filter((id) => !keepSet.has(id));
  await runScript(conn, 'prune', PRUNE_SCRIPT, [assertRemoteRoot(opts.path), opts.app, String(grace), ...removed.map(assertReleaseId)], { code: 'SSH_LAYOUT_FAILED', what: `remove old releases of ${opts.app}` });
  return { removed, kept: releases.map((r) => r.id).filter((id) => keepSet.has(id)), ...(lastGood ? { lastGood } : {}) };
}
