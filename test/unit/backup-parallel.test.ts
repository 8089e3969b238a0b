// Restore speed (issue 21): every gzip member of a backup names its length, so a restore
// inflates members in parallel; backups written before (members without it) still restore;
// damage inside a member is still refused with nothing changed.
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGantryError } from '../../src/core/errors.js';
import { createBackup, restoreBackup, verifyBackup } from '../../src/backup/index.js';
import { TAGGED_HEADER_BYTES, taggedLength } from '../../src/backup/gzip-members.js';
import { gunzipFile } from '../../src/backup/parallel-gunzip.js';

let dir: string;
let archive: string;
let data: string;

/** Every file under root (relative path → sha256), directories as 'dir'. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    out[relative(root, p)] = e.isDirectory() ? 'dir' : createHash('sha256').update(readFileSync(p)).digest('hex');
  }
  return out;
}

/** The archive's gzip members as [offset, length], following each member's own length. */
function members(file: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let at = 0; at < file.length; ) {
    const len = taggedLength(file.subarray(at, at + TAGGED_HEADER_BYTES));
    if (typeof len !== 'number') throw new Error(`member at ${at} does not name its length`);
    out.push([at, len]);
    at += len;
  }
  return out;
}

/** The same archive as an earlier Gantry wrote it: the same members without the length field. */
function untagged(file: Buffer): Buffer {
  return Buffer.concat(
    members(file).map(([at, len]) => {
      const m = Buffer.from(file.subarray(at, at + len));
      m[3] = 0; // no FEXTRA
      return Buffer.concat([m.subarray(0, 10), m.subarray(TAGGED_HEADER_BYTES)]);
    }),
  );
}

async function code(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (isGantryError(e) ? e.code : String(e)),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-backup-par-'));
  data = join(dir, 'data');
  mkdirSync(join(data, 'logs'), { recursive: true });
  mkdirSync(join(data, 'blobs'));
  for (let i = 0; i < 4; i++) writeFileSync(join(data, 'logs', `l${i}.log`), `GET /api/items/${i} 200 3ms\n`.repeat(60_000 + i)); // ~1.6 MB each, deflated
  for (let i = 0; i < 3; i++) writeFileSync(join(data, 'blobs', `b${i}.bin`), randomBytes(1024 * 1024 + 777 * i)); // stored
  writeFileSync(join(data, 'empty'), '');
  const db = new Database(join(dir, 'state.db'));
  db.exec('CREATE TABLE t (x TEXT); INSERT INTO t VALUES (1)');
  archive = join(dir, 'b.tar.gz');
  await createBackup({ outFile: archive, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] });
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('parallel restore', () => {
  it('every gzip member names its length, and the members inflate (in parallel) to the bytes gunzip reads', async () => {
    const file = readFileSync(archive);
    const m = members(file);
    expect(m.length).toBeGreaterThan(8); // the manifest, then 1 MiB blocks
    expect(m.at(-1)![0] + m.at(-1)![1]).toBe(file.length);
    const parts: Buffer[] = [];
    for await (const b of gunzipFile(archive, { parallel: 4 })) parts.push(b);
    expect(Buffer.concat(parts).equals(gunzipSync(file))).toBe(true);
  });

  it('restores every file from a new backup and from one whose members do not name their length (an older Gantry)', async () => {
    const old = join(dir, 'old.tar.gz');
    writeFileSync(old, untagged(readFileSync(archive)));
    expect(gunzipSync(readFileSync(old)).equals(gunzipSync(readFileSync(archive)))).toBe(true);
    for (const [name, file] of [
      ['new', archive],
      ['old', old],
    ] as const) {
      await verifyBackup(file);
      const dst = join(dir, `dst-${name}`);
      await restoreBackup({ file, stateDbFile: join(dst, 'state.db'), dataDirs: [{ name: 'data', dir: join(dst, 'data') }] });
      expect(tree(join(dst, 'data')), name).toEqual(tree(data));
      expect(readdirSync(dst).sort(), name).toEqual(['data', 'state.db']); // no stage or set-aside copies left
    }
  });

  it('a damaged byte inside a member, or a member cut short, is BACKUP_INVALID and the restore changes nothing', async () => {
    const file = readFileSync(archive);
    const m = members(file);
    const [at, len] = m[Math.floor(m.length / 2)]!;
    const damaged = Buffer.from(file);
    damaged[at + (len >> 1)] ^= 0xff;
    const cut = file.subarray(0, at + (len >> 1));
    const dst = join(dir, 'dst-bad');
    mkdirSync(join(dst, 'data'), { recursive: true });
    writeFileSync(join(dst, 'data', 'current.txt'), 'current');
    writeFileSync(join(dst, 'state.db'), 'current db');
    const before = tree(dst);
    for (const [name, bytes] of [
      ['damaged', damaged],
      ['cut', cut],
    ] as const) {
      const bad = join(dir, `${name}.tar.gz`);
      writeFileSync(bad, bytes);
      expect(await code(verifyBackup(bad)), name).toBe('BACKUP_INVALID');
      expect(await code(restoreBackup({ file: bad, stateDbFile: join(dst, 'state.db'), dataDirs: [{ name: 'data', dir: join(dst, 'data') }] })), name).toBe('BACKUP_INVALID');
      expect(tree(dst), name).toEqual(before);
    }
  });
});
