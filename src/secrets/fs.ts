/** Private files and directories: 0700 directories, 0600 files, atomic writes (tmp + rename). */
import { chmodSync, closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Create `path` (and its parents with their usual mode) and make `path` itself 0700. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  try {
    mkdirSync(path, { mode: DIR_MODE });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (process.platform !== 'win32' && (statSync(path).mode & 0o777) !== DIR_MODE) chmodSync(path, DIR_MODE);
}

function syncDir(path: string): void {
  try {
    const fd = openSync(path, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // Not every platform can fsync a directory; the rename is still atomic.
  }
}

function writeAll(fd: number, data: Uint8Array | string): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function writeTmp(file: string, data: Uint8Array | string): string {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', FILE_MODE);
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuiet(tmp);
    throw e;
  }
  closeSync(fd);
  return tmp;
}

/** Replace `file` atomically with a 0600 file holding `data`. */
export function writePrivateFile(file: string, data: Uint8Array | string): void {
  const tmp = writeTmp(file, data);
  try {
    renameSync(tmp, file);
  } catch (e) {
    unlinkQuiet(tmp);
    throw e;
  }
  syncDir(dirname(file));
}

/** Create `file` atomically with `data` unless it exists; false when another writer got there first. */
export function createPrivateFile(file: string, data: Uint8Array | string): boolean {
  const tmp = writeTmp(file, data);
  try {
    linkSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e;
    // No hard links on this file system: exclusive create instead (not atomic, still never overwrites).
    return createExclusive(file, data);
  } finally {
    unlinkQuiet(tmp);
  }
  syncDir(dirname(file));
  return true;
}

function createExclusive(file: string, data: Uint8Array | string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx', FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeAll(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

export function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
