import { posix } from 'node:path';
import { GantryError } from '../core/errors.js';
import { SHA256_RE } from './hash.js';

/**
 * The backup manifest: `gantry-backup.json`, always the first entry of the archive.
 * It lists every other entry with its size, SHA-256 and mode, so a backup can be
 * checked completely before anything is restored from it.
 */

export const MANIFEST_NAME = 'gantry-backup.json';
export const BACKUP_FORMAT = 'gantry-backup';
export const BACKUP_VERSION = 1;
export const STATE_DB_PATH = 'state/state.db';
/** A manifest larger than this is not one Gantry wrote (a million entries is ~150 MB). */
export const MAX_MANIFEST_BYTES = 256 * 1024 * 1024;

export type BackupEntryType = 'file' | 'dir' | 'symlink';

export interface BackupEntry {
  /** Inside the archive, e.g. `state/state.db`, `data/uploads/a.png`, `secrets/hello/default/DB.age`. */
  path: string;
  /** `file` unless said otherwise. Directories are listed so empty ones and their modes come back. */
  type: BackupEntryType;
  /** Bytes of content: 0 for directories and symlinks. */
  size: number;
  /** SHA-256 of the content; of the link target text for a symlink; of nothing for a directory. */
  sha256: string;
  /** Permission bits (e.g. 0o600). */
  mode: number;
  /** Symlink target: relative and inside its data dir (or secrets dir), unless `outside`. */
  link?: string;
  /**
   * A symlink that leads out of its folder, archived as the link it is (its target text,
   * unchanged); its target is not in the backup. Restored as a link, never followed.
   */
  outside?: true;
}

export interface BackupManifest {
  format: 'gantry-backup';
  version: 1;
  createdAt: string;
  app: string;
  target: string;
  release?: string;
  stateSchemaVersion: number;
  includesSecrets: boolean;
  entries: BackupEntry[];
}

const DATA_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A data dir's name becomes one path segment: `data/<name>/...`. */
export function isValidDataName(name: string): boolean {
  return DATA_NAME_RE.test(name);
}

export function invalid(file: string, message: string, hint = 'the file is damaged or is not a Gantry backup; use another backup (`gantry backups` lists them)'): GantryError {
  return new GantryError('BACKUP_INVALID', `${file}: ${message}`, hint);
}

export function notOurs(file: string, why: string): GantryError {
  return invalid(file, `not a Gantry backup (${why})`, 'pass a file written by `gantry backup`; `gantry backups` lists them');
}

/**
 * The part of the archive an entry path belongs to: `state`, `data/<name>` or `secrets`;
 * undefined when the path is not one Gantry writes (absolute, `..`, unknown top folder ...).
 */
export function entryRoot(path: string): string | undefined {
  if (path.length === 0 || path.length > 4096 || path.includes('\0')) return undefined;
  const segs = path.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) return undefined;
  if (path === STATE_DB_PATH) return 'state';
  if (segs[0] === 'data' && segs.length >= 2 && isValidDataName(segs[1]!)) return `data/${segs[1]}`;
  if (segs[0] === 'secrets') return 'secrets';
  return undefined;
}

/** True when a symlink at `path` pointing to `link` stays inside `root` (lexically; links are created last on restore). */
export function linkStaysInside(path: string, link: string, root: string): boolean {
  if (link === '' || link.includes('\0') || posix.isAbsolute(link)) return false;
  const resolved = posix.normalize(posix.join(posix.dirname(path), link));
  return resolved === root || resolved.startsWith(root + '/');
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses and checks a manifest's text; anything that is not a well-formed version-1 manifest is BACKUP_INVALID. */
export function parseManifest(text: string, file: string): BackupManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw notOurs(file, `${MANIFEST_NAME} is not JSON`);
  }
  if (!isObj(raw) || raw.format !== BACKUP_FORMAT) throw notOurs(file, `${MANIFEST_NAME} has no "format": "${BACKUP_FORMAT}"`);
  if (raw.version !== BACKUP_VERSION) {
    throw new GantryError(
      'BACKUP_INVALID',
      `${file}: not a Gantry backup this version can read (format version ${JSON.stringify(raw.version)}, expected ${BACKUP_VERSION})`,
      'a newer Gantry wrote it: upgrade Gantry to restore it',
    );
  }
  const bad = (what: string) => invalid(file, `manifest: ${what}`);
  const str = (k: string, optional = false): string | undefined => {
    const v = raw[k];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v === '') throw bad(`"${k}" must be a non-empty string`);
    return v;
  };
  const createdAt = str('createdAt')!;
  if (Number.isNaN(Date.parse(createdAt))) throw bad('"createdAt" is not a date');
  const app = str('app')!;
  const target = str('target')!;
  const release = str('release', true);
  if (!Number.isSafeInteger(raw.stateSchemaVersion) || (raw.stateSchemaVersion as number) < 0) throw bad('"stateSchemaVersion" must be a whole number');
  if (typeof raw.includesSecrets !== 'boolean') throw bad('"includesSecrets" must be true or false');
  if (!Array.isArray(raw.entries)) throw bad('"entries" must be a list');

  const seen = new Set<string>();
  const entries: BackupEntry[] = raw.entries.map((e: unknown, i: number): BackupEntry => {
    if (!isObj(e) || typeof e.path !== 'string') throw bad(`entry ${i} has no path`);
    const path = e.path;
    const root = entryRoot(path);
    if (!root) throw bad(`entry "${path}" is not a path Gantry writes (absolute, "..", or outside state/, data/<name>/, secrets/)`);
    if (seen.has(path)) throw bad(`entry "${path}" is listed twice`);
    seen.add(path);
    const type = e.type;
    if (type !== 'file' && type !== 'dir' && type !== 'symlink') throw bad(`entry "${path}" has an unknown type ${JSON.stringify(type)}`);
    if (!Number.isSafeInteger(e.size) || (e.size as number) < 0) throw bad(`entry "${path}" has a bad size`);
    if (type !== 'file' && e.size !== 0) throw bad(`entry "${path}" is a ${type} with a size`);
    if (typeof e.sha256 !== 'string' || !SHA256_RE.test(e.sha256)) throw bad(`entry "${path}" has a bad sha256`);
    if (!Number.isSafeInteger(e.mode) || (e.mode as number) < 0 || (e.mode as number) > 0o7777) throw bad(`entry "${path}" has a bad mode`);
    if (path === STATE_DB_PATH && type !== 'file') throw bad(`entry "${path}" must be a file`);
    const entry: BackupEntry = { path, type, size: e.size as number, sha256: e.sha256, mode: e.mode as number };
    if (e.outside !== undefined && (e.outside !== true || type !== 'symlink')) throw bad(`entry "${path}" has a bad "outside"`);
    if (type === 'symlink') {
      if (e.outside === true) {
        if (typeof e.link !== 'string' || e.link === '' || e.link.length > 4096 || e.link.includes('\0')) throw bad(`symlink "${path}" has a bad link`);
        entry.outside = true;
      } else if (typeof e.link !== 'string' || !linkStaysInside(path, e.link, root)) throw bad(`symlink "${path}" points outside its folder`);
      entry.link = e.link;
    } else if (e.link !== undefined) {
      throw bad(`entry "${path}" is not a symlink but has a link`);
    }
    return entry;
  });
  if (!seen.has(STATE_DB_PATH)) throw bad(`no ${STATE_DB_PATH} entry`);
  // Nothing may live under a symlink: restoring it would write through the link.
  const links = new Set(entries.filter((e) => e.type === 'symlink').map((e) => e.path));
  if (links.size > 0) {
    for (const e of entries) {
      for (let i = e.path.lastIndexOf('/'); i > 0; i = e.path.lastIndexOf('/', i - 1)) {
        if (links.has(e.path.slice(0, i))) throw bad(`entry "${e.path}" lies under the symlink "${e.path.slice(0, i)}"`);
      }
    }
  }
  const hasSecrets = entries.some((e) => e.path === 'secrets' || e.path.startsWith('secrets/'));
  if (hasSecrets !== raw.includesSecrets) throw bad(`"includesSecrets" is ${String(raw.includesSecrets)} but the entries say otherwise`);

  const m: BackupManifest = {
    format: BACKUP_FORMAT,
    version: BACKUP_VERSION,
    createdAt,
    app,
    target,
    stateSchemaVersion: raw.stateSchemaVersion as number,
    includesSecrets: raw.includesSecrets,
    entries,
  };
  if (release !== undefined) m.release = release;
  return m;
}
