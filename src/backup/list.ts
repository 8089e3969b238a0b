import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { GantryError } from '../core/errors.js';
import type { BackupManifest } from './manifest.js';
import { inspectBackup } from './verify.js';

export interface BackupListing {
  file: string;
  bytes: number;
  manifest?: BackupManifest;
  /** Why the manifest could not be read (not a Gantry backup, damaged ...). */
  problem?: string;
}

const isArchiveName = (name: string): boolean => !name.startsWith('.') && (name.endsWith('.tar.gz') || name.endsWith('.tgz'));

/** A file name for a new backup: `<app>-<target>-<UTC time>.tar.gz`; sorts by time within an app and target. */
export function backupFileName(app: string, target: string, at: Date = new Date()): string {
  return `${app}-${target}-${at.toISOString().replace(/[-:.]/g, '')}.tar.gz`;
}

/** The .tar.gz/.tgz files in `dir` (none if it does not exist), newest first: by the manifest's createdAt, else the file's mtime. */
export async function listBackups(dir: string): Promise<BackupListing[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const rows: Array<BackupListing & { at: number }> = [];
  for (const name of names.filter(isArchiveName)) {
    const file = join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    try {
      const manifest = await inspectBackup(file);
      rows.push({ file, bytes: st.size, manifest, at: Date.parse(manifest.createdAt) });
    } catch (e) {
      rows.push({ file, bytes: st.size, problem: (e as Error).message, at: st.mtimeMs });
    }
  }
  rows.sort((a, b) => b.at - a.at || b.file.localeCompare(a.file));
  return rows.map(({ at: _at, ...row }) => row);
}

/**
 * Deletes the oldest Gantry backups in `dir` beyond the newest `keep` (optionally only
 * those of one app and/or target); returns the files removed. Files that are not
 * readable Gantry backups are never touched.
 */
export async function pruneBackups(dir: string, keep: number, only: { app?: string; target?: string } = {}): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new GantryError('USAGE', `keep must be a whole number of at least 1 (got ${keep})`, 'set backup.keep in gantry.yaml to 1 or more');
  const ours = (await listBackups(dir)).filter(
    (b) => b.manifest && (only.app === undefined || b.manifest.app === only.app) && (only.target === undefined || b.manifest.target === only.target),
  );
  const removed: string[] = [];
  for (const b of ours.slice(keep)) {
    await unlink(b.file);
    removed.push(b.file);
  }
  return removed;
}
