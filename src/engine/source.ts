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
  return hashSourceParts(dir, extraExcluded).hash;
}

/**
 * The same hash, and in the same walk one that leaves out the file at `apartRel`
 * (the manifest: an env change edits it, yet the build it describes is the same).
 */
export function hashSourceParts(dir: string, extraExcluded: string[] = [], apartRel?: string): { hash: string; hashApart: string } {
  const h = createHash('sha256');
  const apart = createHash('sha256');
  const apartBuf = apartRel === undefined ? undefined : Buffer.from(apartRel);
  for (const { abs, rel, stat } of walkSourceTree(dir, extraExcluded)) {
    const hs = apartBuf && rel.equals(apartBuf) ? [h] : [h, apart];
    const update = (b: string | Buffer): void => hs.forEach((x) => x.update(b));
    if (stat.isDirectory()) {
      update('d ');
      update(rel);
      update('\n');
    } else if (stat.isSymbolicLink()) {
      update('l ');
      update(rel);
      update(' ');
      update(readlinkSync(abs, { encoding: 'buffer' }));
      update('\n');
    } else if (stat.isFile()) {
      update('f ');
      update(rel);
      update(` ${stat.mode & 0o111 ? 'x' : '-'} ${stat.size}\n`);
      update(readFileSync(abs));
    }
  }
  return { hash: h.digest('hex'), hashApart: apart.digest('hex') };
}
