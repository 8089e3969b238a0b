import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGantryError } from '../../src/core/errors.js';
import { backupFileName, createBackup, inspectBackup, listBackups, pruneBackups, restoreBackup, verifyBackup, type BackupManifest } from '../../src/backup/index.js';
import { parseManifest } from '../../src/backup/manifest.js';
import { readArchive } from '../../src/backup/reader.js';
import { swapIntoPlace } from '../../src/backup/swap.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-backup-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every file, dir and link under `root` with what identifies it: content hash, mode, link target. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const rel = relative(root, p);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${(st.mode & 0o7777).toString(8)}`;
        walk(p);
      } else out[rel] = `file ${(st.mode & 0o7777).toString(8)} ${sha(p)}`;
    }
  };
  walk(root);
  return out;
}

function makeDb(file: string, rows = 50): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO items(name) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`item-${i}`);
  })();
  return db;
}

/** A source app: state DB, two data dirs (nested folders, a large file, an empty dir, an inside symlink) and secrets. */
function makeSource(): { db: Database.Database; uploads: string; data: string; secrets: string } {
  const src = join(dir, 'src');
  const uploads = join(src, 'uploads');
  const data = join(src, 'data');
  const secrets = join(src, 'secrets');
  mkdirSync(join(uploads, 'img', 'deep'), { recursive: true });
  mkdirSync(join(uploads, 'empty'));
  mkdirSync(data);
  mkdirSync(join(secrets, 'hello', 'default'), { recursive: true, mode: 0o700 });
  writeFileSync(join(uploads, 'a.png'), randomBytes(3 * 1024 * 1024 + 123)); // several gzip blocks
  writeFileSync(join(uploads, 'img', 'deep', 'b.txt'), 'hello uploads\n'.repeat(1000));
  writeFileSync(join(uploads, 'img', 'script.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(uploads, 'zero'), '');
  symlinkSync('img/deep/b.txt', join(uploads, 'latest'));
  symlinkSync(join(uploads, 'img'), join(uploads, 'abs-img')); // absolute, inside: stored relative
  writeFileSync(join(data, 'app.sqlite'), randomBytes(10_000));
  writeFileSync(join(data, `${'long-name-'.repeat(20)}.bin`), 'long path needs pax'); // > 100 chars
  writeFileSync(join(secrets, 'hello', 'default', 'DB.age'), 'age-encrypted-bytes', { mode: 0o600 });
  const db = makeDb(join(src, 'state.db'));
  return { db, uploads, data, secrets };
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeDefined();
  expect(isGantryError(e) ? e.code : e).toBe(code);
  if (message) expect((e as Error).message).toMatch(message);
  expect(isGantryError(e) && e.hint).toBeTruthy();
  return e as Error;
}

async function archivePaths(file: string): Promise<string[]> {
  const paths: string[] = [];
  await readArchive(file, async (e) => {
    paths.push(e.path.replace(/\/$/, ''));
    e.resume();
  });
  return paths;
}

/** Rewrites the archive's uncompressed tar bytes (test archives are small). */
function rewriteTar(file: string, out: string, edit: (tarBytes: Buffer) => Buffer): void {
  writeFileSync(out, gzipSync(edit(gunzipSync(readFileSync(file)))));
}

describe('createBackup / inspect / verify / restore', () => {
  it('round-trips state, data and secrets: every file identical, modes and links kept, DB rows intact', async () => {
    const s = makeSource();
    const out = join(dir, 'backups', backupFileName('hello', 'local'));
    const res = await createBackup({
      outFile: out,
      db: s.db,
      app: 'hello',
      target: 'local',
      release: '20240101T000000Z-abc1234',
      stateSchemaVersion: 3,
      dataDirs: [
        { name: 'uploads', dir: s.uploads },
        { name: 'data', dir: s.data },
      ],
      secretsDir: s.secrets,
    });
    s.db.close();
    expect(res.file).toBe(out);
    expect(res.bytes).toBe(statSync(out).size);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'backups'))).toEqual([res.file.split('/').pop()]); // no temp files left

    const paths = await archivePaths(out);
    expect(paths[0]).toBe('gantry-backup.json');
    expect(paths[1]).toBe('state/state.db');
    expect(paths).toContain('data/uploads/img/deep/b.txt');
    expect(paths).toContain('secrets/hello/default/DB.age');
    expect(paths.every((p) => !p.startsWith('/') && !p.split('/').includes('..'))).toBe(true);

    const m = await inspectBackup(out);
    expect(m).toMatchObject({ format: 'gantry-backup', version: 1, app: 'hello', target: 'local', release: '20240101T000000Z-abc1234', stateSchemaVersion: 3, includesSecrets: true });
    expect(m).toEqual(res.manifest);
    expect(m.entries.find((e) => e.path === 'data/uploads/a.png')).toMatchObject({ type: 'file', size: 3 * 1024 * 1024 + 123, sha256: sha(join(s.uploads, 'a.png')) });
    expect(m.entries.find((e) => e.path === 'data/uploads/abs-img')).toMatchObject({ type: 'symlink', link: 'img' });
    expect(await verifyBackup(out)).toEqual(m);

    const dst = join(dir, 'dst');
    const restored = await restoreBackup({
      file: out,
      stateDbFile: join(dst, '.gantry', 'state.db'),
      dataDirs: [
        { name: 'uploads', dir: join(dst, 'uploads') },
        { name: 'data', dir: join(dst, 'data') },
      ],
      secretsDir: join(dst, 'secrets'),
    });
    expect(restored).toEqual(m);
    expect(tree(join(dst, 'uploads'))).toEqual({ ...tree(s.uploads), 'abs-img': 'link img' });
    expect(tree(join(dst, 'data'))).toEqual(tree(s.data));
    expect(tree(join(dst, 'secrets'))).toEqual(tree(s.secrets));
    expect(statSync(join(dst, 'secrets', 'hello', 'default', 'DB.age')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dst, 'uploads', 'latest'), 'utf8')).toContain('hello uploads');

    const db = new Database(join(dst, '.gantry', 'state.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 50 });
    expect(db.prepare('SELECT name FROM items WHERE id = 50').get()).toEqual({ name: 'item-49' });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    expect(statSync(join(dst, '.gantry', 'state.db')).mode & 0o777).toBe(0o600);
    expect(readdirSync(dst).sort()).toEqual(['.gantry', 'data', 'secrets', 'uploads']); // no staging left
  });

  it('is a standard tar.gz: GNU tar lists it (multi-member gzip) with the manifest first', async () => {
    if (spawnSync('tar', ['--version']).status !== 0) return;
    const s = makeSource();
    const out = join(dir, 'b.tar.gz');
    await createBackup({ outFile: out, db: s.db, app: 'hello', target: 'local', stateSchemaVersion: 1, dataDirs: [{ name: 'uploads', dir: s.uploads }] });
    s.db.close();
    const r = spawnSync('tar', ['-tzf', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('gantry-backup.json');
    expect(lines).toContain('data/uploads/a.png');
    const x = join(dir, 'gnu');
    mkdirSync(x);
    expect(spawnSync('tar', ['-xzf', out, '-C', x]).status).toBe(0);
    expect(sha(join(x, 'data', 'uploads', 'a.png'))).toBe(sha(join(s.uploads, 'a.png')));
    expect(sha(join(x, 'data', 'uploads', 'img', 'deep', 'b.txt'))).toBe(sha(join(s.uploads, 'img', 'deep', 'b.txt')));
  });

  it('leaves secrets out unless secretsDir is given', async () => {
    const s = makeSource();
    const out = join(dir, 'b.tar.gz');
    const res = await createBackup({ outFile: out, db: s.db, app: 'hello', target: 'local', stateSchemaVersion: 1, dataDirs: [{ name: 'uploads', dir: s.uploads }] });
    s.db.close();
    expect(res.manifest.includesSecrets).toBe(false);
    expect(res.manifest.entries.some((e) => e.path.startsWith('secrets'))).toBe(false);
    expect((await archivePaths(out)).some((p) => p.startsWith('secrets'))).toBe(false);

    // restoring it leaves an existing secrets dir alone
    const secrets = join(dir, 'dst-secrets');
    mkdirSync(secrets);
    writeFileSync(join(secrets, 'KEEP.age'), 'x');
    await restoreBackup({ file: out, stateDbFile: join(dir, 'dst', 'state.db'), dataDirs: [], secretsDir: secrets });
    expect(readdirSync(secrets)).toEqual(['KEEP.age']);
  });

  it('archives a data dir that does not exist yet as an empty one', async () => {
    const db = makeDb(join(dir, 'state.db'));
    const out = join(dir, 'b.tar.gz');
    const res = await createBackup({ outFile: out, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: join(dir, 'missing') }] });
    db.close();
    expect(res.manifest.entries.map((e) => e.path)).toEqual(['state/state.db', 'data/data']);
    const dest = join(dir, 'restored-data');
    mkdirSync(dest);
    writeFileSync(join(dest, 'old'), 'x');
    await restoreBackup({ file: out, stateDbFile: join(dir, 'r', 'state.db'), dataDirs: [{ name: 'data', dir: dest }] });
    expect(readdirSync(dest)).toEqual([]);
  });

  it('refuses to write the backup inside a folder it backs up', async () => {
    const db = makeDb(join(dir, 'state.db'));
    const data = join(dir, 'data');
    mkdirSync(data);
    await expectCode(createBackup({ outFile: join(data, 'backups', 'b.tar.gz'), db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] }), 'USAGE', /inside/);
    db.close();
    expect(readdirSync(data)).toEqual([]);
  });

  it('stores blocks that do not compress and deflates the rest', async () => {
    const db = makeDb(join(dir, 'state.db'));
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(data, 'random.bin'), randomBytes(4 * 1024 * 1024));
    writeFileSync(join(data, 'text.log'), 'GET /api/v1/items 200 12ms\n'.repeat(150_000)); // ~4 MB
    const out = join(dir, 'b.tar.gz');
    const res = await createBackup({ outFile: out, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] });
    db.close();
    expect(res.bytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(res.bytes).toBeLessThan(4.2 * 1024 * 1024); // random stored (+ tiny overhead), text deflated
    await verifyBackup(out);
  });

  it('archives a symlink that points outside its data dir as a link, never following it (issue 14)', async () => {
    const db = makeDb(join(dir, 'state.db'));
    const data = join(dir, 'data');
    mkdirSync(join(data, 'sub'), { recursive: true });
    symlinkSync('/etc/passwd', join(data, 'sub', 'evil'));
    symlinkSync('../..', join(data, 'sub', 'up'));
    const out = join(dir, 'b.tar.gz');
    const r = await createBackup({ outFile: out, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] });
    db.close();
    expect(r.manifest.entries.find((e) => e.path === 'data/data/sub/evil')).toMatchObject({ type: 'symlink', link: '/etc/passwd', outside: true, size: 0 });
    expect(r.manifest.entries.find((e) => e.path === 'data/data/sub/up')).toMatchObject({ type: 'symlink', link: '../..', outside: true });
    expect(r.manifest.entries.some((e) => e.path.includes('passwd') && e.type === 'file')).toBe(false);
    await verifyBackup(out);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]); // temp files cleaned up
  });
});

describe('damaged and foreign archives', () => {
  let out: string;
  let dst: { stateDbFile: string; dataDirs: Array<{ name: string; dir: string }> };

  beforeEach(async () => {
    const s = makeSource();
    out = join(dir, 'good.tar.gz');
    await createBackup({ outFile: out, db: s.db, app: 'hello', target: 'local', stateSchemaVersion: 1, dataDirs: [{ name: 'uploads', dir: s.uploads }] });
    s.db.close();
    // an existing installation the failed restores must not touch
    const d = join(dir, 'dst');
    mkdirSync(join(d, 'uploads'), { recursive: true });
    writeFileSync(join(d, 'uploads', 'current.txt'), 'current data');
    makeDb(join(d, 'state.db'), 3).close();
    dst = { stateDbFile: join(d, 'state.db'), dataDirs: [{ name: 'uploads', dir: join(d, 'uploads') }] };
  });

  const snapshot = (): Record<string, string> => tree(join(dir, 'dst'));

  it('a truncated archive is BACKUP_INVALID and nothing changes at the destination', async () => {
    const cut = join(dir, 'cut.tar.gz');
    writeFileSync(cut, readFileSync(out).subarray(0, Math.floor(statSync(out).size / 2)));
    const before = snapshot();
    await expectCode(verifyBackup(cut), 'BACKUP_INVALID', /cut\.tar\.gz: truncated/);
    await expectCode(restoreBackup({ file: cut, ...dst }), 'BACKUP_INVALID', /truncated/);
    expect(snapshot()).toEqual(before);
    // the manifest alone (first gzip member) still reads: inspect says what it is, verify says it is incomplete
    expect((await inspectBackup(cut)).app).toBe('hello');
  });

  it('an archive cut right after the manifest is BACKUP_INVALID: entries missing', async () => {
    const raw = gunzipSync(readFileSync(out));
    const m = await inspectBackup(out);
    const manifestBlocks = 512 + Math.ceil(Buffer.byteLength(JSON.stringify(m, null, 2) + '\n') / 512) * 512;
    const cut = join(dir, 'cut2.tar.gz');
    writeFileSync(cut, gzipSync(raw.subarray(0, manifestBlocks)));
    await expectCode(verifyBackup(cut), 'BACKUP_INVALID', /entry "state\/state\.db" is missing/);
  });

  it('a tampered data byte is BACKUP_INVALID naming the entry; nothing changes at the destination', async () => {
    const bad = join(dir, 'tampered.tar.gz');
    rewriteTar(out, bad, (t) => {
      const at = t.indexOf('hello uploads');
      expect(at).toBeGreaterThan(0);
      t[at] = 'j'.charCodeAt(0);
      return t;
    });
    const before = snapshot();
    await expectCode(verifyBackup(bad), 'BACKUP_INVALID', /tampered\.tar\.gz: entry "data\/uploads\/img\/deep\/b\.txt" does not match its checksum/);
    await expectCode(restoreBackup({ file: bad, ...dst }), 'BACKUP_INVALID', /data\/uploads\/img\/deep\/b\.txt/);
    expect(snapshot()).toEqual(before);
    expect(readdirSync(join(dir, 'dst')).sort()).toEqual(['state.db', 'uploads']);
  });

  it('an extra entry, or a checksum changed in the manifest, is BACKUP_INVALID naming the entry', async () => {
    const extra = join(dir, 'extra.tar.gz');
    const m = await inspectBackup(out);
    const staging = join(dir, 'x');
    mkdirSync(staging);
    await tar.x({ file: out, cwd: staging });
    writeFileSync(join(staging, 'data', 'uploads', 'intruder'), 'x');
    await tar.c({ file: extra, gzip: true, cwd: staging, portable: true, noDirRecurse: true }, ['gantry-backup.json', ...m.entries.map((e) => e.path), 'data/uploads/intruder']);
    await expectCode(verifyBackup(extra), 'BACKUP_INVALID', /entry "data\/uploads\/intruder" is not in the manifest/);

    const edited = join(dir, 'edited.tar.gz');
    const want = m.entries.find((e) => e.path === 'data/uploads/img/deep/b.txt')!.sha256;
    rewriteTar(out, edited, (t) => {
      const at = t.indexOf(want);
      t[at] = t[at] === 0x30 ? 0x31 : 0x30; // one hex digit of the manifest's checksum
      return t;
    });
    await expectCode(verifyBackup(edited), 'BACKUP_INVALID', /entry "data\/uploads\/img\/deep\/b\.txt" does not match its checksum/);
  });

  it('a crafted archive whose symlinks lead outside through another link is refused on restore', async () => {
    const staging = join(dir, 'craft');
    mkdirSync(join(staging, 'state'), { recursive: true });
    mkdirSync(join(staging, 'data', 'x'), { recursive: true });
    writeFileSync(join(staging, 'state', 'state.db'), 'db');
    symlinkSync('.', join(staging, 'data', 'x', 'B'));
    symlinkSync('B/..', join(staging, 'data', 'x', 'A')); // lexically data/x, really data/
    const hash = (t: string) => createHash('sha256').update(t).digest('hex');
    const manifest = {
      format: 'gantry-backup',
      version: 1,
      createdAt: new Date().toISOString(),
      app: 'hello',
      target: 'local',
      stateSchemaVersion: 1,
      includesSecrets: false,
      entries: [
        { path: 'state/state.db', type: 'file', size: 2, sha256: hash('db'), mode: statSync(join(staging, 'state', 'state.db')).mode & 0o7777 },
        { path: 'data/x', type: 'dir', size: 0, sha256: hash(''), mode: statSync(join(staging, 'data', 'x')).mode & 0o7777 },
        { path: 'data/x/A', type: 'symlink', size: 0, sha256: hash('B/..'), mode: 0o777, link: 'B/..' },
        { path: 'data/x/B', type: 'symlink', size: 0, sha256: hash('.'), mode: 0o777, link: '.' },
      ],
    };
    writeFileSync(join(staging, 'gantry-backup.json'), JSON.stringify(manifest));
    const crafted = join(dir, 'crafted.tar.gz');
    await tar.c({ file: crafted, gzip: true, cwd: staging, portable: true, noDirRecurse: true }, ['gantry-backup.json', ...manifest.entries.map((e) => e.path)]);
    await verifyBackup(crafted); // consistent with its manifest ...
    const before = snapshot();
    const dest = join(dir, 'dst', 'x');
    await expectCode(restoreBackup({ file: crafted, stateDbFile: dst.stateDbFile, dataDirs: [{ name: 'x', dir: dest }] }), 'BACKUP_INVALID', /symlink "data\/x\/A" leads outside/);
    expect(snapshot()).toEqual(before); // ... but nothing of it lands
  });

  it('a foreign tar.gz, a non-gzip file, an empty file and another manifest version are BACKUP_INVALID', async () => {
    const foreign = join(dir, 'foreign.tar.gz');
    writeFileSync(join(dir, 'readme.txt'), 'hi');
    await tar.c({ file: foreign, gzip: true, cwd: dir }, ['readme.txt']);
    await expectCode(inspectBackup(foreign), 'BACKUP_INVALID', /not a Gantry backup/);
    await expectCode(verifyBackup(foreign), 'BACKUP_INVALID', /not a Gantry backup/);
    await expectCode(restoreBackup({ file: foreign, ...dst }), 'BACKUP_INVALID', /not a Gantry backup/);

    const text = join(dir, 'notes.tar.gz');
    writeFileSync(text, 'just text');
    await expectCode(verifyBackup(text), 'BACKUP_INVALID', /not a Gantry backup \(not a gzip file\)/);
    const gzText = join(dir, 'gz.tar.gz');
    writeFileSync(gzText, gzipSync('not a tar at all'));
    await expectCode(verifyBackup(gzText), 'BACKUP_INVALID', /not a Gantry backup/);
    const empty = join(dir, 'empty.tar.gz');
    writeFileSync(empty, '');
    await expectCode(verifyBackup(empty), 'BACKUP_INVALID', /empty file/);
    await expectCode(verifyBackup(join(dir, 'nope.tar.gz')), 'USAGE', /no such backup file/);

    const v2 = join(dir, 'v2.tar.gz');
    rewriteTar(out, v2, (t) => {
      const at = t.indexOf('"version": 1');
      t[at + '"version": '.length] = '2'.charCodeAt(0); // same length; the header checksum does not cover the content
      return t;
    });
    await expectCode(inspectBackup(v2), 'BACKUP_INVALID', /not a Gantry backup this version can read \(format version 2/);
  });

  it('rejects manifests with unsafe paths or entries under a symlink', () => {
    const base = { format: 'gantry-backup', version: 1, createdAt: new Date().toISOString(), app: 'a', target: 't', stateSchemaVersion: 1, includesSecrets: false };
    const state = { path: 'state/state.db', type: 'file', size: 0, sha256: '0'.repeat(64), mode: 0o600 };
    const parse = (entries: unknown[]) => () => parseManifest(JSON.stringify({ ...base, entries: [state, ...entries] }), 'f');
    const e = (path: string, extra: object = {}) => ({ path, type: 'file', size: 0, sha256: '0'.repeat(64), mode: 0o644, ...extra });
    expect(parse([e('data/x/../../etc/passwd')])).toThrow(/not a path Gantry writes/);
    expect(parse([e('/etc/passwd')])).toThrow(/not a path Gantry writes/);
    expect(parse([e('other/file')])).toThrow(/not a path Gantry writes/);
    expect(parse([e('data/x/l', { type: 'symlink', link: '../../..' })])).toThrow(/points outside/);
    expect(parse([e('data/x/l', { type: 'symlink', link: '.' }), e('data/x/l/f')])).toThrow(/under the symlink/);
    expect(parse([e('data/x/f'), e('data/x/f')])).toThrow(/listed twice/);
    expect(parse([e('data/x/l', { type: 'symlink', link: 'f' }), e('data/x/f')])).not.toThrow();
  });
});

describe('restore safety', () => {
  async function backupOf(app: string, outFile: string): Promise<BackupManifest> {
    const db = makeDb(join(dir, `${app}-${Math.random()}.db`), 5);
    const data = join(dir, `${app}-data`);
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'f.txt'), `${app} data`);
    const r = await createBackup({ outFile, db, app, target: 'local', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] });
    db.close();
    return r.manifest;
  }

  it('refuses to restore over newer deployments or another app unless forced', async () => {
    const out = join(dir, 'b.tar.gz');
    const m = await backupOf('hello', out);
    const dest = join(dir, 'dst');
    mkdirSync(join(dest, 'data'), { recursive: true });
    writeFileSync(join(dest, 'data', 'f.txt'), 'newer data');
    const opts = { file: out, stateDbFile: join(dest, 'state.db'), dataDirs: [{ name: 'data', dir: join(dest, 'data') }] };
    const newer = new Date(Date.parse(m.createdAt) + 60_000).toISOString();

    await expectCode(restoreBackup({ ...opts, currentState: { app: 'hello', newestDeploymentAt: newer } }), 'RESTORE_REFUSED', /newer deployment/);
    await expectCode(restoreBackup({ ...opts, currentState: { app: 'other' } }), 'RESTORE_REFUSED', /backup of app "hello"; the state here belongs to "other"/);
    expect(readFileSync(join(dest, 'data', 'f.txt'), 'utf8')).toBe('newer data');

    const older = new Date(Date.parse(m.createdAt) - 60_000).toISOString();
    await restoreBackup({ ...opts, currentState: { app: 'hello', newestDeploymentAt: older } });
    writeFileSync(join(dest, 'data', 'f.txt'), 'newer data');
    await restoreBackup({ ...opts, currentState: { app: 'hello', newestDeploymentAt: newer }, force: true });
    expect(readFileSync(join(dest, 'data', 'f.txt'), 'utf8')).toBe('hello data');
  });

  it('replaces the state DB as a whole, setting aside its old WAL', async () => {
    const out = join(dir, 'b.tar.gz');
    await backupOf('hello', out);
    const dest = join(dir, 'dst');
    mkdirSync(dest);
    const stateDbFile = join(dest, 'state.db');
    makeDb(stateDbFile, 500).close();
    writeFileSync(stateDbFile + '-wal', 'stale wal of the old db');
    writeFileSync(stateDbFile + '-shm', 'stale shm');
    await restoreBackup({ file: out, stateDbFile, dataDirs: [] });
    expect(existsSync(stateDbFile + '-wal')).toBe(false);
    expect(existsSync(stateDbFile + '-shm')).toBe(false);
    const db = new Database(stateDbFile);
    expect(db.prepare('SELECT count(*) AS n FROM items').get()).toEqual({ n: 5 });
    db.close();
    expect(readdirSync(dest).filter((n) => n.includes('.old-') || n.includes('.restore-'))).toEqual([]);
  });

  it('a failing swap puts every old copy back', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const [p, v] of [
      [a, 'old a'],
      [b, 'old b'],
      [a + '.new', 'new a'],
      [b + '.new', 'new b'],
    ] as const) {
      mkdirSync(p);
      writeFileSync(join(p, 'f'), v);
    }
    let calls = 0;
    const { rename } = await import('node:fs/promises');
    const failing = async (from: string, to: string): Promise<void> => {
      if (++calls === 4) throw new Error('disk on fire'); // a → old, a.new → a, b → old, [b.new → b fails]
      await rename(from, to);
    };
    await expect(
      swapIntoPlace(
        [
          { stage: a + '.new', dest: a },
          { stage: b + '.new', dest: b },
        ],
        'x',
        failing,
      ),
    ).rejects.toThrow('disk on fire');
    expect(readFileSync(join(a, 'f'), 'utf8')).toBe('old a');
    expect(readFileSync(join(b, 'f'), 'utf8')).toBe('old b');
    expect(readFileSync(join(a + '.new', 'f'), 'utf8')).toBe('new a');
    expect(readFileSync(join(b + '.new', 'f'), 'utf8')).toBe('new b');
  });
});

describe('listBackups / pruneBackups', () => {
  it('lists newest first with problems for foreign files, and prunes only our oldest', async () => {
    const bdir = join(dir, 'backups');
    const db = makeDb(join(dir, 'state.db'), 3);
    const made: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await createBackup({ outFile: join(bdir, `hello-${i}.tar.gz`), db, app: 'hello', target: 'local', stateSchemaVersion: 1, dataDirs: [] });
      made.push(r.file);
      await new Promise((res) => setTimeout(res, 5)); // distinct createdAt
    }
    const other = await createBackup({ outFile: join(bdir, 'other.tar.gz'), db, app: 'other', target: 'local', stateSchemaVersion: 1, dataDirs: [] });
    db.close();
    writeFileSync(join(bdir, 'junk.tar.gz'), 'not a backup');
    writeFileSync(join(bdir, 'notes.txt'), 'ignored');

    const list = await listBackups(bdir);
    // by createdAt, or the file's mtime when it has no manifest (junk was written last)
    expect(list.map((b) => b.file)).toEqual([join(bdir, 'junk.tar.gz'), other.file, made[3], made[2], made[1], made[0]]);
    expect(list[0]!.problem).toMatch(/not a Gantry backup/);
    expect(list[0]!.manifest).toBeUndefined();
    expect(list[2]!.manifest?.app).toBe('hello');
    expect(list[2]!.bytes).toBe(statSync(made[3]!).size);
    expect(await listBackups(join(dir, 'none'))).toEqual([]);

    expect(await pruneBackups(bdir, 2, { app: 'hello' })).toEqual([made[1], made[0]]);
    expect(await pruneBackups(bdir, 1)).toEqual([made[3], made[2]]);
    expect(readdirSync(bdir).sort()).toEqual(['junk.tar.gz', 'notes.txt', 'other.tar.gz']);
    await expectCode(pruneBackups(bdir, 0), 'USAGE');
  });
});

describe('large files', () => {
  it('streams a file larger than memory-friendly chunks and a truncated copy of it fails', async () => {
    const db = makeDb(join(dir, 'state.db'), 1);
    const data = join(dir, 'data');
    mkdirSync(data);
    const big = join(data, 'big.bin');
    writeFileSync(big, randomBytes(8 * 1024 * 1024));
    const out = join(dir, 'b.tar.gz');
    await createBackup({ outFile: out, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] });
    db.close();
    await verifyBackup(out);
    const dst = join(dir, 'dst');
    await restoreBackup({ file: out, stateDbFile: join(dst, 'state.db'), dataDirs: [{ name: 'data', dir: join(dst, 'data') }] });
    expect(sha(join(dst, 'data', 'big.bin'))).toBe(sha(big));
    truncateSync(out, statSync(out).size - 100);
    await expectCode(verifyBackup(out), 'BACKUP_INVALID', /truncated/);
  });
});
