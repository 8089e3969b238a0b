import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, realpath, rm, symlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { ReadEntry } from 'tar';
import { GantryError } from '../core/errors.js';
import { syncAll, syncDir } from './fsutil.js';
import { StreamDigest } from './hash.js';
import { entryRoot, invalid, isValidDataName, STATE_DB_PATH, type BackupEntry, type BackupManifest } from './manifest.js';
import { readArchive } from './reader.js';
import { swapIntoPlace } from './swap.js';
import { EntryChecker, inspectBackup, readManifestEntry } from './verify.js';

export interface RestoreBackupOptions {
  file: string;
  /**
   * Where state.db goes. It is replaced as a whole file (its `-wal`/`-shm` are set aside
   * with it): the caller MUST close every handle on it first and reopen it afterwards.
   */
  stateDbFile: string;
  /** Each data dir found in the archive as `data/<name>` is replaced as a whole; others are left alone. */
  dataDirs: Array<{ name: string; dir: string }>;
  /** Replaced as a whole, only when given and the archive holds secrets. */
  secretsDir?: string;
  /** The state being replaced: a restore that would lose newer deployments, or another app's state, is refused unless `force`. */
  currentState?: { app: string; newestDeploymentAt?: string };
  force?: boolean;
}

/**
 * Restored files and folders get their permission bits only: setuid, setgid and sticky
 * are dropped, so an archive cannot plant a setuid binary owned by whoever restores it.
 */
const PERMISSION_BITS = 0o777;

interface Target {
  root: string;
  dest: string;
  stage: string;
  kind: 'file' | 'dir';
  secrets: boolean;
}

/** A restore extracted and checked beside its destinations, not yet swapped in. */
export interface StagedRestore {
  manifest: BackupManifest;
  /**
   * Swaps every staged copy into place with renames (all or nothing) and makes that
   * durable. The replaced copies are deleted in the background: `cleanup` waits for it.
   */
  commit(): Promise<void>;
  /** Deletes the staged copies (nothing was swapped in). */
  discard(): Promise<void>;
  /** Resolves when the copies replaced by `commit` are deleted (never rejects). */
  cleanup(): Promise<void>;
}

/**
 * Stages a restore in one read of the archive: extracts into temporary copies beside each
 * destination, checking every entry's size and SHA-256 as it is written. Nothing in place
 * is touched, so the app can keep running while this reads; a damaged or foreign archive
 * fails here and leaves nothing behind.
 */
export async function stageRestore(opts: RestoreBackupOptions): Promise<StagedRestore> {
  const file = opts.file;
  for (const d of opts.dataDirs) {
    if (!isValidDataName(d.name)) throw new GantryError('USAGE', `restore: data dir name "${d.name}" is not usable in an archive path`, 'use the names the backup was made with');
  }
  const manifest = await inspectBackup(file);
  refuseIfUnsafe(file, manifest, opts);

  const id = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const targets = planTargets(manifest, opts, id);
  const discard = async (): Promise<void> => {
    for (const t of targets) await rm(t.stage, { recursive: true, force: true });
  };
  try {
    for (const t of targets) await mkdir(dirname(t.dest), { recursive: true, mode: 0o700 });
    await extract(file, manifest, targets);
  } catch (e) {
    await discard();
    throw e;
  }
  let removal: Promise<void> = Promise.resolve();
  return {
    manifest,
    discard,
    cleanup: () => removal,
    async commit() {
      let aside: string[];
      try {
        aside = await swapIntoPlace(
          targets.map((t) => ({ stage: t.stage, dest: t.dest, sidecars: t.kind === 'file' ? ['-wal', '-shm', '-journal'] : [] })),
          id,
        );
      } catch (e) {
        await discard();
        throw e;
      }
      for (const dir of new Set(targets.map((t) => dirname(t.dest)))) await syncDir(dir);
      removal = Promise.all(aside.map((p) => rm(p, { recursive: true, force: true }))).then(
        () => undefined,
        () => undefined,
      );
    },
  };
}

/**
 * Restores a backup in one read of the archive (stageRestore), then swaps it into place
 * and deletes what it replaced. A failure before the swap leaves everything as it was;
 * a failure during the swap puts the old copies back.
 */
export async function restoreBackup(opts: RestoreBackupOptions): Promise<BackupManifest> {
  const staged = await stageRestore(opts);
  await staged.commit();
  await staged.cleanup();
  return staged.manifest;
}

function refuseIfUnsafe(file: string, m: BackupManifest, opts: RestoreBackupOptions): void {
  const cur = opts.currentState;
  if (opts.force || !cur) return;
  if (cur.app !== m.app) {
    throw new GantryError('RESTORE_REFUSED', `${file} is a backup of app "${m.app}"; the state here belongs to "${cur.app}"`, 'check the file; pass --force to replace this state anyway');
  }
  if (cur.newestDeploymentAt !== undefined && Date.parse(cur.newestDeploymentAt) > Date.parse(m.createdAt)) {
    throw new GantryError(
      'RESTORE_REFUSED',
      `${file} was made at ${m.createdAt}, but the state here has a newer deployment (${cur.newestDeploymentAt}): restoring would lose it`,
      'take a backup of the current state first (`gantry backup`), then pass --force to restore anyway',
    );
  }
}

function planTargets(m: BackupManifest, opts: RestoreBackupOptions, id: string): Target[] {
  const roots = new Set(m.entries.map((e) => entryRoot(e.path)));
  const stage = (dest: string): string => `${dest}.restore-${id}`;
  const state = resolve(opts.stateDbFile);
  const targets: Target[] = [{ root: 'state', dest: state, stage: stage(state), kind: 'file', secrets: false }];
  for (const d of opts.dataDirs) {
    const root = `data/${d.name}`;
    if (!roots.has(root)) continue;
    const dest = resolve(d.dir);
    targets.push({ root, dest, stage: stage(dest), kind: 'dir', secrets: false });
  }
  if (m.includesSecrets && opts.secretsDir !== undefined) {
    const dest = resolve(opts.secretsDir);
    targets.push({ root: 'secrets', dest, stage: stage(dest), kind: 'dir', secrets: true });
  }
  for (const a of targets) {
    for (const b of targets) {
      if (a !== b && (a.dest === b.dest || a.dest.startsWith(b.dest + sep))) {
        throw new GantryError('USAGE', `restore: ${a.dest} is inside ${b.dest}; each is replaced as a whole`, 'give the state file, data dirs and secrets dir separate places');
      }
    }
  }
  return targets;
}

async function extract(file: string, manifest: BackupManifest, targets: Target[]): Promise<void> {
  const byRoot = new Map(targets.map((t) => [t.root, t]));
  for (const t of targets) if (t.kind === 'dir') await mkdir(t.stage, { mode: 0o700 });
  const dirs: Array<{ dest: string; mode: number }> = [];
  const links: Array<{ dest: string; link: string; entry: BackupEntry; t: Target }> = [];
  const writes = new FileWrites();
  let checker: EntryChecker | undefined;

  try {
    await readArchive(file, async (entry, i) => {
      if (i === 0) {
        const m = await readManifestEntry(file, entry);
        if (JSON.stringify(m) !== JSON.stringify(manifest)) throw invalid(file, 'it changed since it was verified');
        checker = new EntryChecker(file, m);
        return;
      }
      const want = checker!.expect(entry);
      const digest = new StreamDigest();
      const t = byRoot.get(entryRoot(want.path)!);
      if (!t || want.type !== 'file') {
        for await (const chunk of entry) digest.update(chunk as Buffer);
        checker!.confirm(want, digest);
        if (!t) return;
      }
      const dest = t.kind === 'file' ? t.stage : join(t.stage, ...want.path.slice(t.root.length).split('/').filter(Boolean));
      if (want.type === 'dir') {
        await mkdir(dest, { recursive: true, mode: 0o700 });
        dirs.push({ dest, mode: t.secrets ? want.mode & 0o700 : want.mode & PERMISSION_BITS });
      } else if (want.type === 'symlink') {
        links.push({ dest, link: want.link!, entry: want, t });
      } else {
        const mode = want.path === STATE_DB_PATH ? 0o600 : t.secrets ? want.mode & 0o600 : want.mode & PERMISSION_BITS;
        await writes.file(entry, dest, digest, mode);
        checker!.confirm(want, digest);
      }
    });
    if (!checker) throw invalid(file, 'the archive is empty');
    checker.finish();
  } finally {
    // Every write settles before this returns or throws: nothing lands in a stage after it is deleted.
    await writes.settle();
  }
  writes.throwIfFailed();

  // Links last: nothing above was written through one, and no entry lies under one (the manifest
  // refuses that). A link marked `outside` is recreated as the link it was and never followed;
  // every other link must stay inside its folder: lexically (the manifest) and really (checked here, now that all exist).
  for (const l of links) {
    await mkdir(dirname(l.dest), { recursive: true, mode: 0o700 });
    await symlink(l.link, l.dest);
  }
  for (const l of links) {
    if (l.entry.outside) continue;
    const real = await realpath(l.dest).catch(() => undefined);
    const root = await realpath(l.t.stage);
    if (real !== undefined && real !== root && !real.startsWith(root + sep)) throw invalid(file, `symlink "${l.entry.path}" leads outside its folder`);
  }
  // Directory modes last, deepest first, so a read-only directory does not block its children.
  dirs.sort((a, b) => b.dest.length - a.dest.length);
  for (const d of dirs) await chmod(d.dest, d.mode);
  // Durable before it replaces anything (the old copies are deleted right after the swap).
  // (Each file was fsynced when its last byte was written.)
  await syncAll([...dirs.map((d) => d.dest), ...targets.filter((t) => t.kind === 'dir').map((t) => t.stage)]);
}

/**
 * Writes restored files without waiting for the disk: an entry's bytes are hashed as the
 * archive streams past and handed to positional writes on libuv's pool, and each file is
 * finished (mode, mtime, fsync, close) in the background while the next entries are read.
 * At most `maxBytes` wait to be written, so memory stays bounded; the first failure is
 * reported at the next entry and by throwIfFailed.
 */
class FileWrites {
  private readonly tasks = new Set<Promise<void>>();
  private failure: Error | undefined;
  private queued = 0;
  private waiters: Array<() => void> = [];

  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  async file(entry: ReadEntry, dest: string, digest: StreamDigest, mode: number): Promise<void> {
    this.throwIfFailed();
    await mkdir(dirname(dest), { recursive: true, mode: 0o700 });
    const fh = await open(dest, 'wx', 0o600);
    const pending: Array<Promise<void>> = [];
    let pos = 0;
    try {
      const chunks = entry[Symbol.asyncIterator]();
      for (;;) {
        // Checked right before each read: a read begun after the archive failed (the reader
        // destroys the entry then) would wait forever.
        if (entry.destroyed) throw new Error('the archive read stopped');
        const next = await chunks.next();
        if (next.done) break;
        const buf = next.value as Buffer;
        digest.update(buf);
        await this.room(buf.length);
        this.throwIfFailed();
        const w = writeAt(fh, buf, pos).finally(() => this.release(buf.length));
        w.catch((e: Error) => (this.failure ??= e));
        pending.push(w);
        pos += buf.length;
      }
    } catch (e) {
      this.track(Promise.allSettled(pending).then(() => fh.close()));
      throw e;
    }
    const mtime = entry.mtime;
    this.track(
      (async () => {
        try {
          await Promise.all(pending);
          await fh.chmod(mode);
          if (mtime) await fh.utimes(mtime, mtime);
          await fh.sync();
        } finally {
          await fh.close();
        }
      })(),
    );
  }

  /** Waits for every write and file to finish (never throws). */
  async settle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private track(p: Promise<void>): void {
    const t = p.catch((e: Error) => void (this.failure ??= e)).finally(() => this.tasks.delete(t));
    this.tasks.add(t);
  }

  private async room(bytes: number): Promise<void> {
    while (this.queued > 0 && this.queued + bytes > this.maxBytes && !this.failure) await new Promise<void>((r) => this.waiters.push(r));
    this.queued += bytes;
  }

  private release(bytes: number): void {
    this.queued -= bytes;
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

async function writeAt(fh: FileHandle, buf: Buffer, pos: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, pos + off);
    off += bytesWritten;
  }
}
