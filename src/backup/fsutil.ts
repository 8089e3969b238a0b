import { open, rename, lstat } from 'node:fs/promises';

/** fsync a directory so a rename in it survives a crash (best effort: not every file system allows it). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (!fh) return;
  try {
    await fh.sync();
  } catch {
    // the rename is still atomic, only its durability is left to the file system
  } finally {
    await fh.close();
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

export type RenameFn = (from: string, to: string) => Promise<void>;
export const fsRename: RenameFn = rename;

/**
 * fsyncs many files and folders, several at a time: the file system folds concurrent
 * fsyncs into fewer journal commits, much faster than one after another.
 */
export async function syncAll(paths: string[], concurrency = 32): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const fh = await open(paths[next++]!, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
}
