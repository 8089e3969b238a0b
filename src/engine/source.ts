import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { walkSourceTree } from '../core/source-tree.js';

/**
 * A content hash of the app's source tree (paths, modes, contents, symlink
 * targets), stable across machines and mtimes, so identical code gives an
 * identical release hash. Exactly what a release copy holds: no `.gantry`
 * or `.git` at any depth, not the state dir (`extraExcluded`).
 */
export function hashSource(dir: string, extraExcluded: string[] = []): string {
  const h = createHash('sha256');
  for (const { abs, rel, stat } of walkSourceTree(dir, extraExcluded)) {
    if (stat.isDirectory()) {
      h.update('d ').update(rel).update('\n');
    } else if (stat.isSymbolicLink()) {
      h.update('l ').update(rel).update(' ').update(readlinkSync(abs, { encoding: 'buffer' })).update('\n');
    } else if (stat.isFile()) {
      h.update('f ').update(rel).update(` ${stat.mode & 0o111 ? 'x' : '-'} ${stat.size}\n`);
      h.update(readFileSync(abs));
    }
  }
  return h.digest('hex');
}
