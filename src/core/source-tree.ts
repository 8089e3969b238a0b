import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { resolve, sep } from 'node:path';

/**
 * Names never part of a release copy, a build context or a source hash, at any depth:
 * Gantry's state (this app's or, in a monorepo, another app's: its identity, secrets and
 * state.db) and version-control metadata.
 */
const EXCLUDED_NAMES = new Set(['.gantry', '.git', '.hg', '.svn']);

/** Gantry's state folder name: left out of backups at any depth too (see src/backup/walk.ts). */
export const STATE_DIR_NAME = '.gantry';

/** Whether an entry of this name (a file or a folder, at any depth) stays out of releases, images and hashes. */
export function isExcludedSourceName(name: string | Buffer): boolean {
  return EXCLUDED_NAMES.has(typeof name === 'string' ? name : name.toString('latin1'));
}

/** One entry of an app's source tree. Paths are bytes: a name need not be valid UTF-8. */
export interface SourceEntry {
  abs: Buffer;
  /** Relative to the root, '/'-separated. */
  rel: Buffer;
  stat: Stats;
}

const SLASH = Buffer.from('/');

/**
 * Every entry of `root` that belongs in a release (parents before children, names in byte
 * order, symlinks not followed), leaving out excluded names at any depth and the folders in
 * `extraExcluded` (the state dir wherever GANTRY_HOME puts it). Names are read as bytes so a
 * file name that is not valid UTF-8 is found, copied and hashed like any other.
 */
export function walkSourceTree(root: string, extraExcluded: string[] = []): SourceEntry[] {
  const rootAbs = resolve(root);
  const excluded = extraExcluded.map((p) => resolve(p)).filter((p) => p !== rootAbs);
  const isExcludedPath = (abs: Buffer): boolean => {
    if (excluded.length === 0) return false;
    const s = abs.toString('latin1');
    // Excluded paths come from the config as strings; compare in the same byte-preserving encoding.
    return excluded.some((x) => {
      const xl = Buffer.from(x).toString('latin1');
      return s === xl || s.startsWith(xl + sep);
    });
  };
  const out: SourceEntry[] = [];
  const visit = (absDir: Buffer, relDir: Buffer | undefined): void => {
    const names = readdirSync(absDir, { encoding: 'buffer' }).sort(Buffer.compare);
    for (const name of names) {
      if (isExcludedSourceName(name)) continue;
      const abs = Buffer.concat([absDir, SLASH, name]);
      if (isExcludedPath(abs)) continue;
      const rel = relDir ? Buffer.concat([relDir, SLASH, name]) : name;
      const stat = lstatSync(abs);
      out.push({ abs, rel, stat });
      if (stat.isDirectory()) visit(abs, rel);
    }
  };
  visit(Buffer.from(rootAbs), undefined);
  return out;
}
