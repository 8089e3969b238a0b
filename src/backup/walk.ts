import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { GantryError } from '../core/errors.js';
import { STATE_DIR_NAME } from '../core/source-tree.js';
import { linkStaysInside } from './manifest.js';

/** One thing found under a folder being backed up, in archive order (parents before children). */
export type WalkItem =
  | { kind: 'dir'; archivePath: string; abs: string; mode: number; mtime: Date }
  | { kind: 'file'; archivePath: string; abs: string }
  | { kind: 'symlink'; archivePath: string; abs: string; link: string; mode: number; mtime: Date; outside?: true };

const inside = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Lists `dir` for the archive under `prefix` (e.g. `data/uploads`), without following
 * symlinks. A symlink pointing inside `dir` is kept relative (an absolute one is
 * rewritten); one pointing outside is kept as it is, marked `outside`, never followed.
 * Sockets, FIFOs, devices and names that are not valid UTF-8 cannot be archived and
 * are returned in `skipped`; a `.gantry` folder at any depth (another app's state) is
 * left out. A folder that does not exist is
 * archived as an empty one (an app that never wrote its data yet).
 */
export async function walkDir(dir: string, prefix: string, what: string): Promise<{ items: WalkItem[]; skipped: string[] }> {
  const root = resolve(dir);
  const items: WalkItem[] = [];
  const skipped: string[] = [];
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    items.push({ kind: 'dir', archivePath: prefix, abs: root, mode: 0o700, mtime: new Date() });
    return { items, skipped };
  }
  if (!st.isDirectory()) throw new GantryError('USAGE', `cannot back up ${what} ${root}: not a directory`, 'pass the folder that holds the data');
  const realRoot = await realpath(root);
  items.push({ kind: 'dir', archivePath: prefix, abs: root, mode: st.mode & 0o7777, mtime: st.mtime });

  const visit = async (absDir: string, archDir: string): Promise<void> => {
    const raw = await readdir(absDir, { encoding: 'buffer' });
    const names: string[] = [];
    for (const b of raw) {
      const name = b.toString('utf8');
      // Never another app's state (a `.gantry` kept in a release or in data: its identity, secrets, state.db).
      if (name === STATE_DIR_NAME) continue;
      // Archive paths are UTF-8 text: a name that is not cannot be stored faithfully, so it is reported, not mangled.
      if (!Buffer.from(name, 'utf8').equals(b)) skipped.push(`${archDir}/${name}`);
      else names.push(name);
    }
    names.sort();
    for (const name of names) {
      const abs = join(absDir, name);
      const archivePath = `${archDir}/${name}`;
      const ls = await lstat(abs).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined; // deleted since it was listed (a rotated log): nothing to keep
        throw e;
      });
      if (!ls) continue;
      if (ls.isDirectory()) {
        items.push({ kind: 'dir', archivePath, abs, mode: ls.mode & 0o7777, mtime: ls.mtime });
        await visit(abs, archivePath);
      } else if (ls.isFile()) {
        items.push({ kind: 'file', archivePath, abs });
      } else if (ls.isSymbolicLink()) {
        const target = await readlink(abs);
        const link = await checkLink(abs, target, root, realRoot, archivePath, prefix);
        items.push({ kind: 'symlink', archivePath, abs, link: link ?? target, mode: ls.mode & 0o7777, mtime: ls.mtime, ...(link === undefined ? { outside: true as const } : {}) });
      } else {
        skipped.push(archivePath);
      }
    }
  };
  await visit(root, prefix);
  return { items, skipped };
}

/**
 * A link into the folder, as it is archived (an absolute one made relative); undefined
 * for a link that leads outside it, which is archived as it is, as a link: its target
 * is never followed, read or archived.
 */
async function checkLink(abs: string, target: string, root: string, realRoot: string, archivePath: string, prefix: string): Promise<string | undefined> {
  // An absolute link into the folder is stored relative, so it still works once restored elsewhere.
  let link = target;
  if (isAbsolute(target)) {
    let absTarget = resolve(target);
    if (!inside(root, absTarget) && inside(realRoot, absTarget)) absTarget = join(root, relative(realRoot, absTarget));
    if (!inside(root, absTarget)) return undefined;
    link = relative(dirname(abs), absTarget) || '.';
  }
  link = link.split(sep).join('/');
  if (!linkStaysInside(archivePath, link, prefix)) return undefined;
  // Lexically inside is not enough (a/.. through another link); where the target exists, check where it really is.
  try {
    if (!inside(realRoot, await realpath(abs))) return undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && (e as NodeJS.ErrnoException).code !== 'ELOOP') throw e;
  }
  return link;
}
