import { exists, fsRename, type RenameFn } from './fsutil.js';

export interface SwapItem {
  /** The restored copy, beside `dest` (same file system, so rename is atomic). */
  stage: string;
  dest: string;
  /** Files that belong to `dest` and move aside with it, as suffixes (SQLite's `-wal`, `-shm`, `-journal`). */
  sidecars?: string[];
}

/**
 * Puts every stage in place of its dest: the dest (and its sidecars) is renamed to
 * `<dest>.old-<id>`, then the stage to `<dest>`. If any rename fails, every rename done
 * so far is undone in reverse order, so the previous state is back as it was.
 * Returns the set-aside paths, for the caller to delete once all is in place.
 */
export async function swapIntoPlace(items: SwapItem[], id: string, mv: RenameFn = fsRename): Promise<string[]> {
  const log: Array<[from: string, to: string]> = [];
  const move = async (from: string, to: string): Promise<void> => {
    await mv(from, to);
    log.push([from, to]);
  };
  const aside: string[] = [];
  try {
    for (const it of items) {
      const old = `${it.dest}.old-${id}`;
      if (await exists(it.dest)) {
        await move(it.dest, old);
        aside.push(old);
      }
      for (const s of it.sidecars ?? []) {
        if (await exists(it.dest + s)) {
          await move(it.dest + s, old + s);
          aside.push(old + s);
        }
      }
      await move(it.stage, it.dest);
    }
  } catch (e) {
    const stuck: string[] = [];
    for (const [from, to] of log.reverse()) {
      await mv(to, from).catch((err: Error) => stuck.push(`${to} → ${from} (${err.message})`));
    }
    if (stuck.length > 0 && e instanceof Error) e.message += `; could not move back: ${stuck.join(', ')}: do it by hand`;
    throw e;
  }
  return aside;
}
