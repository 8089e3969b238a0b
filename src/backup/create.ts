import type { Database } from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import { GantryError } from '../core/errors.js';
import { syncDir } from './fsutil.js';
import { tagMember } from './gzip-members.js';
import { ParallelGzipWriter, writeAll } from './gzip-writer.js';
import { BACKUP_FORMAT, BACKUP_VERSION, isValidDataName, MANIFEST_NAME, STATE_DB_PATH, type BackupEntry, type BackupManifest } from './manifest.js';
import { TarWriter, type ByteSink } from './tar-writer.js';
import { walkDir, type WalkItem } from './walk.js';

/**
 * gzip level for backups: 1. Backups run before deploys, so speed matters more than the
 * last few percent of size. Measured (src/backup/README.md): Node's zlib at level 1 deflates
 * text/JSON at ~105 MB per CPU-second against ~27-42 at level 6, for output ~15% larger on
 * text and ~5% larger on a mixed data set; already-compressed blocks are stored anyway.
 */
export const GZIP_LEVEL = 1;

export interface CreateBackupOptions {
  /** The .tar.gz to write; written to a temporary file beside it, then renamed. Mode 0600. */
  outFile: string;
  /** The state DB; copied with SQLite's online backup API, so it may stay open and in use. */
  db: Database;
  app: string;
  target: string;
  release?: string;
  stateSchemaVersion: number;
  /**
   * Persistent data, archived under `data/<name>/...`. A folder that does not exist yet is archived empty.
   * `skip` leaves out paths (relative to `dir`, `/`-separated) and everything under them.
   */
  dataDirs: Array<{ name: string; dir: string; skip?: (relPath: string) => boolean }>;
  /** Included under `secrets/` only when given (the caller decides: `--include-secrets`). */
  secretsDir?: string;
  /** gzip level 1-9 (default GZIP_LEVEL). */
  level?: number;
}

export interface CreateBackupResult {
  file: string;
  manifest: BackupManifest;
  bytes: number;
  /** Archive paths left out: sockets, FIFOs, devices, files deleted while the backup ran. */
  skipped: string[];
}

/**
 * Writes one .tar.gz holding `gantry-backup.json` (first), `state/state.db`, `data/<name>/...`
 * and optionally `secrets/...`. Every file is read once: its bytes are hashed as they go into
 * the archive, so the manifest describes exactly what was archived.
 */
export async function createBackup(opts: CreateBackupOptions): Promise<CreateBackupResult> {
  checkOptions(opts);
  const outFile = resolve(opts.outFile);
  const outDir = dirname(outFile);
  for (const d of [...opts.dataDirs.map((x) => x.dir), ...(opts.secretsDir !== undefined ? [opts.secretsDir] : [])]) {
    const abs = resolve(d);
    if (outDir === abs || outDir.startsWith(abs + sep)) {
      throw new GantryError('USAGE', `backup: ${outFile} would be written inside ${abs}, which it backs up`, 'write backups outside the data and secrets folders (e.g. in .gantry/backups)');
    }
  }
  await mkdir(outDir, { recursive: true, mode: 0o700 });
  const work = await mkdtemp(join(outDir, '.gantry-backup-'));
  const finalTmp = join(outDir, `.${basename(outFile)}.${randomBytes(4).toString('hex')}.tmp`);
  const level = opts.level ?? GZIP_LEVEL;
  try {
    const createdAt = new Date().toISOString();
    const dbCopy = join(work, 'state.db');
    await snapshotDb(opts.db, dbCopy);

    const items: WalkItem[] = [];
    const skipped: string[] = [];
    for (const d of opts.dataDirs) {
      const prefix = `data/${d.name}`;
      const w = await walkDir(d.dir, prefix, `data dir "${d.name}"`);
      const skip = d.skip;
      items.push(...(skip ? w.items.filter((it) => it.archivePath === prefix || !skip(it.archivePath.slice(prefix.length + 1))) : w.items));
      skipped.push(...w.skipped);
    }
    if (opts.secretsDir !== undefined) {
      const w = await walkDir(opts.secretsDir, 'secrets', 'secrets dir');
      items.push(...w.items);
      skipped.push(...w.skipped);
    }

    const bodyFile = join(work, 'body.gz');
    const entries = await writeBody(bodyFile, dbCopy, items, skipped, level);

    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      createdAt,
      app: opts.app,
      target: opts.target,
      ...(opts.release !== undefined ? { release: opts.release } : {}),
      stateSchemaVersion: opts.stateSchemaVersion,
      includesSecrets: opts.secretsDir !== undefined,
      entries,
    };
    const head = await manifestMember(manifest, level);

    const out = await open(finalTmp, 'wx', 0o600);
    try {
      await writeAll(out, head);
      for await (const chunk of createReadStream(bodyFile, { highWaterMark: 1024 * 1024 })) await writeAll(out, chunk as Buffer);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(finalTmp, outFile);
    await syncDir(outDir);
    return { file: outFile, manifest, bytes: (await stat(outFile)).size, skipped };
  } catch (e) {
    await rm(finalTmp, { force: true });
    throw e;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function checkOptions(opts: CreateBackupOptions): void {
  const usage = (msg: string, hint: string): GantryError => new GantryError('USAGE', msg, hint);
  if (!opts.app) throw usage('backup: app is empty', 'pass the app name from gantry.yaml');
  if (!opts.target) throw usage('backup: target is empty', 'pass the target name');
  if (!Number.isSafeInteger(opts.stateSchemaVersion) || opts.stateSchemaVersion < 0) throw usage('backup: stateSchemaVersion must be a whole number', 'pass store.schemaVersion');
  if (opts.level !== undefined && (!Number.isInteger(opts.level) || opts.level < 1 || opts.level > 9)) throw usage(`backup: gzip level ${opts.level} is not 1-9`, 'use 1 (fast) to 9 (small)');
  const names = new Set<string>();
  for (const d of opts.dataDirs) {
    if (!isValidDataName(d.name)) throw usage(`backup: data dir name "${d.name}" is not usable in an archive path`, 'use letters, digits, ".", "_" and "-" (one path segment)');
    if (names.has(d.name)) throw usage(`backup: data dir "${d.name}" is listed twice`, 'give each data dir its own name');
    names.add(d.name);
  }
}

/**
 * Copies the DB with SQLite's online backup API in one step (all pages under one read
 * transaction): a consistent snapshot even while other connections write. A multi-step
 * backup would restart each time another connection writes.
 */
async function snapshotDb(db: Database, dest: string): Promise<void> {
  await db.backup(dest, { progress: () => 0x7fffffff });
}

async function writeBody(bodyFile: string, dbCopy: string, items: WalkItem[], skipped: string[], level: number): Promise<BackupEntry[]> {
  const entries: BackupEntry[] = [];
  const fh = await open(bodyFile, 'wx', 0o600);
  try {
    const gz = new ParallelGzipWriter(fh, { level });
    const tar = new TarWriter(gz);
    const state = await addFile(tar, STATE_DB_PATH, dbCopy, 0o600);
    if (!state) throw new Error(`the DB snapshot ${dbCopy} vanished`);
    entries.push(state);
    for (const it of items) {
      if (it.kind === 'dir') {
        entries.push({ path: it.archivePath, type: 'dir', size: 0, sha256: await tar.dir(it.archivePath, it.mode, it.mtime), mode: it.mode });
      } else if (it.kind === 'symlink') {
        entries.push({ path: it.archivePath, type: 'symlink', size: 0, sha256: await tar.symlink(it.archivePath, it.link, it.mode, it.mtime), mode: it.mode, link: it.link, ...(it.outside ? { outside: true as const } : {}) });
      } else {
        const e = await addFile(tar, it.archivePath, it.abs);
        if (e) entries.push(e);
        else skipped.push(it.archivePath);
      }
    }
    await tar.finish();
    await gz.end();
  } finally {
    await fh.close();
  }
  return entries;
}

/** Archives one file; undefined when it was deleted since it was listed. */
async function addFile(tar: TarWriter, archivePath: string, abs: string, mode?: number): Promise<BackupEntry | undefined> {
  let fh;
  try {
    fh = await open(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw changed(archivePath);
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw changed(archivePath);
    const m = mode ?? st.mode & 0o7777;
    const sha256 = await tar.file(archivePath, fh, st.size, m, st.mtime);
    return { path: archivePath, type: 'file', size: st.size, sha256, mode: m };
  } finally {
    await fh.close();
  }
}

const changed = (archivePath: string): GantryError =>
  new GantryError('BACKUP_INVALID', `cannot back up ${archivePath}: it was replaced by something else while the backup ran`, 'retry, or stop the app during the backup');

/** The manifest as the archive's first gzip member (the body follows as further members). */
async function manifestMember(manifest: BackupManifest, level: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink: ByteSink = { write: async (b) => void parts.push(b) };
  await new TarWriter(sink).buffer(MANIFEST_NAME, Buffer.from(JSON.stringify(manifest, null, 2) + '\n'), 0o600, new Date(manifest.createdAt));
  return tagMember(gzipSync(Buffer.concat(parts), { level }));
}
