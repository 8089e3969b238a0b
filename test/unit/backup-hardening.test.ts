/**
 * Issue 14, points 11 and 12: a symlink leading out of a backed-up folder is kept as a
 * link (never followed, never a reason to fail), restore recreates it as a link and still
 * refuses archives that would write through one; restore drops setuid, setgid and sticky.
 * Point 10's rule that unfinished builds are never archived is checked here too (`skip`).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGantryError } from '../../src/core/errors.js';
import { createBackup, restoreBackup, verifyBackup } from '../../src/backup/index.js';
import { parseManifest } from '../../src/backup/manifest.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-backup-h-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function makeDb(file: string): Database.Database {
  const db = new Database(file);
  db.exec('CREATE TABLE t (x TEXT)');
  db.prepare('INSERT INTO t VALUES (?)').run('row');
  return db;
}

async function backupOf(data: string, skip?: (rel: string) => boolean) {
  const db = makeDb(join(dir, `state-${Math.random()}.db`));
  try {
    return await createBackup({ outFile: join(dir, `b-${Math.random()}.tar.gz`), db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'app', dir: data, skip }] });
  } finally {
    db.close();
  }
}

async function expectCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeDefined();
  expect(isGantryError(e) ? e.code : e).toBe(code);
  if (message) expect((e as Error).message).toMatch(message);
}

const hash = (t: string): string => createHash('sha256').update(t).digest('hex');

describe('symlinks leading outside the backed-up folder (issue 14 point 11)', () => {
  it('are archived and restored as links, their targets never read', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'not part of the app');
    const data = join(dir, 'data');
    mkdirSync(join(data, 'releases', 'r1'), { recursive: true });
    writeFileSync(join(data, 'releases', 'r1', 'server.js'), 'code');
    symlinkSync(outside, join(data, 'releases', 'r1', 'ext')); // absolute, outside
    symlinkSync('../../../outside/secret.txt', join(data, 'releases', 'r1', 'rel')); // relative, outside
    symlinkSync('server.js', join(data, 'releases', 'r1', 'inside')); // inside: as before

    const r = await backupOf(data);
    const byPath = new Map(r.manifest.entries.map((e) => [e.path, e]));
    expect(byPath.get('data/app/releases/r1/ext')).toMatchObject({ type: 'symlink', link: outside, outside: true });
    expect(byPath.get('data/app/releases/r1/rel')).toMatchObject({ type: 'symlink', link: '../../../outside/secret.txt', outside: true });
    expect(byPath.get('data/app/releases/r1/inside')).toEqual(expect.objectContaining({ type: 'symlink', link: 'server.js' }));
    expect(byPath.get('data/app/releases/r1/inside')!.outside).toBeUndefined();
    expect([...byPath.keys()].some((p) => p.includes('secret'))).toBe(false);
    await verifyBackup(r.file);

    const dest = join(dir, 'restored', 'app');
    await restoreBackup({ file: r.file, stateDbFile: join(dir, 'restored', 'state.db'), dataDirs: [{ name: 'app', dir: dest }] });
    const rel = join(dest, 'releases', 'r1');
    expect(lstatSync(join(rel, 'ext')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(rel, 'ext'))).toBe(outside);
    expect(readlinkSync(join(rel, 'rel'))).toBe('../../../outside/secret.txt');
    expect(readlinkSync(join(rel, 'inside'))).toBe('server.js');
    expect(readdirSync(outside)).toEqual(['secret.txt']); // nothing written through the link
  });

  it('an archive that would write through an outside link is refused before anything lands', async () => {
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    const staging = join(dir, 'craft');
    mkdirSync(join(staging, 'state'), { recursive: true });
    mkdirSync(join(staging, 'data', 'x'), { recursive: true });
    writeFileSync(join(staging, 'state', 'state.db'), 'db');
    symlinkSync(victim, join(staging, 'data', 'x', 'l'));
    const manifest = {
      format: 'gantry-backup',
      version: 1,
      createdAt: new Date().toISOString(),
      app: 'a',
      target: 't',
      stateSchemaVersion: 1,
      includesSecrets: false,
      entries: [
        { path: 'state/state.db', type: 'file', size: 2, sha256: hash('db'), mode: statSync(join(staging, 'state', 'state.db')).mode & 0o7777 },
        { path: 'data/x', type: 'dir', size: 0, sha256: hash(''), mode: statSync(join(staging, 'data', 'x')).mode & 0o7777 },
        { path: 'data/x/l', type: 'symlink', size: 0, sha256: hash(victim), mode: 0o777, link: victim, outside: true },
        { path: 'data/x/l/planted', type: 'file', size: 4, sha256: hash('evil'), mode: 0o644 },
      ],
    };
    writeFileSync(join(staging, 'gantry-backup.json'), JSON.stringify(manifest));
    const crafted = join(dir, 'crafted.tar.gz');
    // The manifest is checked before any other entry is read: the planted file need not even be in the tar.
    await tar.c({ file: crafted, gzip: true, cwd: staging, portable: true, noDirRecurse: true }, ['gantry-backup.json', 'state/state.db', 'data/x', 'data/x/l']);
    const dest = join(dir, 'dst', 'x');
    await expectCode(restoreBackup({ file: crafted, stateDbFile: join(dir, 'dst', 'state.db'), dataDirs: [{ name: 'x', dir: dest }] }), 'BACKUP_INVALID', /lies under the symlink "data\/x\/l"/);
    expect(readdirSync(victim)).toEqual([]);
    expect(existsSync(dest)).toBe(false);
  });

  it('the manifest accepts an outside link only as a link: nothing under it, "outside" only on symlinks', () => {
    const base = { format: 'gantry-backup', version: 1, createdAt: new Date().toISOString(), app: 'a', target: 't', stateSchemaVersion: 1, includesSecrets: false };
    const state = { path: 'state/state.db', type: 'file', size: 0, sha256: '0'.repeat(64), mode: 0o600 };
    const parse = (entries: unknown[]) => () => parseManifest(JSON.stringify({ ...base, entries: [state, ...entries] }), 'f');
    const e = (path: string, extra: object = {}) => ({ path, type: 'file', size: 0, sha256: '0'.repeat(64), mode: 0o644, ...extra });
    expect(parse([e('data/x/l', { type: 'symlink', link: '/etc', outside: true })])).not.toThrow();
    expect(parse([e('data/x/l', { type: 'symlink', link: '/etc' })])).toThrow(/points outside/); // unmarked: as before
    expect(parse([e('data/x/l', { type: 'symlink', link: '/etc', outside: true }), e('data/x/l/passwd')])).toThrow(/under the symlink/);
    expect(parse([e('data/x/f', { outside: true })])).toThrow(/bad "outside"/);
    expect(parse([e('data/x/l', { type: 'symlink', link: '', outside: true })])).toThrow(/bad link/);
    expect(parse([e('data/x/l', { type: 'symlink', link: '/etc', outside: 'yes' })])).toThrow(/bad "outside"/);
  });
});

describe('restore drops setuid, setgid and sticky (issue 14 point 12)', () => {
  it('a 04755 file comes back 0755, a 02755 file 0755, 01777 and 02775 folders 0777 and 0775', async () => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'bin'), { recursive: true });
    mkdirSync(join(data, 'tmp'));
    mkdirSync(join(data, 'group'));
    writeFileSync(join(data, 'bin', 'suid'), '#!/bin/sh\nid\n');
    writeFileSync(join(data, 'bin', 'sgid'), '#!/bin/sh\nid\n');
    chmodSync(join(data, 'bin', 'suid'), 0o4755);
    chmodSync(join(data, 'bin', 'sgid'), 0o2755);
    chmodSync(join(data, 'tmp'), 0o1777);
    chmodSync(join(data, 'group'), 0o2775);
    const r = await backupOf(data);
    // The archive records what was there ...
    expect(r.manifest.entries.find((e) => e.path === 'data/app/bin/suid')!.mode).toBe(0o4755);
    expect(r.manifest.entries.find((e) => e.path === 'data/app/tmp')!.mode).toBe(0o1777);

    const dest = join(dir, 'restored', 'app');
    await restoreBackup({ file: r.file, stateDbFile: join(dir, 'restored', 'state.db'), dataDirs: [{ name: 'app', dir: dest }] });
    const mode = (p: string): number => statSync(join(dest, p)).mode & 0o7777;
    // ... restore gives back the permission bits only.
    expect(mode('bin/suid')).toBe(0o755);
    expect(mode('bin/sgid')).toBe(0o755);
    expect(mode('tmp')).toBe(0o777);
    expect(mode('group')).toBe(0o775);
  });
});

describe('a data dir can leave paths out (unfinished builds, issue 14 point 10)', () => {
  it('skips a `releases/<id>.partial` tree and keeps everything else', async () => {
    const data = join(dir, 'data');
    mkdirSync(join(data, 'releases', 'r1.partial', 'node_modules'), { recursive: true });
    mkdirSync(join(data, 'releases', 'r0'), { recursive: true });
    mkdirSync(join(data, 'shared', 'uploads.partial'), { recursive: true }); // user data with the same suffix stays
    writeFileSync(join(data, 'releases', 'r1.partial', 'node_modules', 'x.js'), 'half built');
    writeFileSync(join(data, 'releases', 'r0', 'server.js'), 'built');
    const r = await backupOf(data, (rel) => /^releases\/[^/]+\.partial(\/|$)/.test(rel));
    const paths = r.manifest.entries.map((e) => e.path);
    expect(paths.filter((p) => p.includes('r1.partial'))).toEqual([]);
    expect(paths).toEqual(expect.arrayContaining(['data/app', 'data/app/releases', 'data/app/releases/r0/server.js', 'data/app/shared/uploads.partial']));
    await verifyBackup(r.file);
    expect(realpathSync(data)).toBeTruthy();
  });
});
