import type { ReadEntry } from 'tar';
import { StreamDigest } from './hash.js';
import { invalid, MANIFEST_NAME, MAX_MANIFEST_BYTES, notOurs, parseManifest, type BackupEntry, type BackupManifest } from './manifest.js';
import { entryPath, readArchive } from './reader.js';

const TAMPERED = 'the backup was changed or damaged after it was written: use another backup (`gantry backups` lists them)';

/** Reads the first entry, which must be our manifest, and checks it. Does not read the rest. */
export async function inspectBackup(file: string): Promise<BackupManifest> {
  let manifest: BackupManifest | undefined;
  await readArchive(file, async (entry) => {
    manifest = await readManifestEntry(file, entry);
    return 'stop';
  });
  if (!manifest) throw notOurs(file, `the archive is empty, no ${MANIFEST_NAME}`);
  return manifest;
}

/**
 * Streams every entry and checks it against the manifest: type, mode, link, size and
 * SHA-256; no entry missing, none extra, none twice. Throws BACKUP_INVALID naming the
 * file and the entry.
 */
export async function verifyBackup(file: string): Promise<BackupManifest> {
  let checker: EntryChecker | undefined;
  await readArchive(file, async (entry, i) => {
    if (i === 0) {
      checker = new EntryChecker(file, await readManifestEntry(file, entry));
      return;
    }
    const want = checker!.expect(entry);
    const digest = new StreamDigest();
    for await (const chunk of entry) digest.update(chunk as Buffer);
    checker!.confirm(want, digest);
  });
  if (!checker) throw notOurs(file, `the archive is empty, no ${MANIFEST_NAME}`);
  return checker.finish();
}

/** The manifest from the archive's first entry; anything else there means "not ours". */
export async function readManifestEntry(file: string, entry: ReadEntry): Promise<BackupManifest> {
  const path = entryPath(entry);
  if (path !== MANIFEST_NAME || entry.type !== 'File') throw notOurs(file, `its first entry is "${path}", not ${MANIFEST_NAME}`);
  if (entry.size > MAX_MANIFEST_BYTES) throw notOurs(file, `${MANIFEST_NAME} is ${entry.size} bytes`);
  const text = (await entry.concat()).toString('utf8');
  return parseManifest(text, file);
}

/** Matches archive entries to manifest entries; shared by verify and restore. */
export class EntryChecker {
  private readonly byPath = new Map<string, BackupEntry>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly file: string,
    readonly manifest: BackupManifest,
  ) {
    for (const e of manifest.entries) this.byPath.set(e.path, e);
  }

  /** The manifest entry for this archive entry, after checking its type, mode and link. */
  expect(entry: ReadEntry): BackupEntry {
    const path = entryPath(entry);
    const want = this.byPath.get(path);
    if (!want) throw invalid(this.file, `entry "${path}" is not in the manifest`, TAMPERED);
    if (this.seen.has(path)) throw invalid(this.file, `entry "${path}" appears twice`, TAMPERED);
    this.seen.add(path);
    const type = entry.type === 'Directory' ? 'dir' : entry.type === 'SymbolicLink' ? 'symlink' : entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile' ? 'file' : entry.type;
    if (type !== want.type) throw invalid(this.file, `entry "${path}" is a ${entry.type} in the archive but a ${want.type} in the manifest`, TAMPERED);
    if (want.type !== 'symlink' && ((entry.mode ?? 0) & 0o7777) !== want.mode) throw invalid(this.file, `entry "${path}" has mode ${(entry.mode ?? 0).toString(8)}, the manifest says ${want.mode.toString(8)}`, TAMPERED);
    if (want.type === 'symlink' && entry.linkpath !== want.link) throw invalid(this.file, `symlink "${path}" points to "${entry.linkpath}", the manifest says "${want.link}"`, TAMPERED);
    if (entry.size !== want.size) throw invalid(this.file, `entry "${path}" is ${entry.size} bytes, the manifest says ${want.size}`, TAMPERED);
    return want;
  }

  /** Checks the content that streamed past (for a symlink: its target text). */
  confirm(want: BackupEntry, digest: StreamDigest): void {
    if (want.type === 'symlink') digest.update(Buffer.from(want.link ?? ''));
    if (digest.bytes !== want.size && want.type === 'file') throw invalid(this.file, `entry "${want.path}" has ${digest.bytes} bytes, the manifest says ${want.size}`, TAMPERED);
    const got = digest.hex();
    if (got !== want.sha256) throw invalid(this.file, `entry "${want.path}" does not match its checksum (sha256 ${got.slice(0, 12)}…, the manifest says ${want.sha256.slice(0, 12)}…)`, TAMPERED);
  }

  /** Every manifest entry was seen: returns the manifest. */
  finish(): BackupManifest {
    const missing = this.manifest.entries.filter((e) => !this.seen.has(e.path));
    if (missing.length > 0) {
      const more = missing.length > 1 ? ` (and ${missing.length - 1} more)` : '';
      throw invalid(this.file, `entry "${missing[0]!.path}" is missing${more}: the archive is incomplete`, 'the backup was cut short (an interrupted copy?) or changed: use another backup');
    }
    return this.manifest;
  }
}
