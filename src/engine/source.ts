import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync, lstatSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

/** Never part of a release: Gantry's own state and version-control metadata. */
const EXCLUDED_TOP = new Set(['.gantry', '.git', '.hg', '.svn']);

export function shouldCopy(relPath: string): boolean {
  if (relPath === '') return true;
  const first = relPath.split(sep)[0]!;
  return !EXCLUDED_TOP.has(first);
}

/**
 * A content hash of the app's source tree (paths, modes, contents, symlink
 * targets), stable across machines and mtimes, so identical code gives an
 * identical release hash.
 */
export function hashSource(dir: string, extraExcluded: string[] = []): string {
  const root = resolve(dir);
  const excluded = extraExcluded.map((p) => resolve(p));
  const h = createHash('sha256');
  const walk = (abs: string): void => {
    const entries = readdirSync(abs).sort();
    for (const name of entries) {
      const full = join(abs, name);
      const rel = relative(root, full);
      if (!shouldCopy(rel) || excluded.some((x) => full === x || full.startsWith(x + sep))) continue;
      const st = lstatSync(full);
      if (st.isDirectory()) {
        h.update(`d ${rel}\n`);
        walk(full);
      } else if (st.isSymbolicLink()) {
        h.update(`l ${rel} ${readlinkSync(full)}\n`);
      } else if (st.isFile()) {
        h.update(`f ${rel} ${st.mode & 0o111 ? 'x' : '-'} ${st.size}\n`);
        h.update(readFileSync(full));
      }
    }
  };
  walk(root);
  return h.digest('hex');
}
