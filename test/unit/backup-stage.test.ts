import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup, stageRestore } from '../../src/backup/index.js';

// A restore is staged (extracted and checked beside its destinations) while the app still
// runs; only commit touches what is in place.
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-stage-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function backupOf(data: Record<string, string>): Promise<string> {
  const src = join(dir, 'src');
  mkdirSync(src, { recursive: true });
  for (const [name, text] of Object.entries(data)) writeFileSync(join(src, name), text);
  const db = new Database(join(dir, 'state-src.db'));
  db.exec('CREATE TABLE t (x)');
  const out = join(dir, 'b.tar.gz');
  await createBackup({ outFile: out, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: src }] });
  db.close();
  return out;
}

/** Every path under `root` whose name is not `keep` (what a stage or a set-aside copy leaves behind). */
const leftovers = (root: string, keep: string[]): string[] => readdirSync(root).filter((n) => !keep.includes(n));

describe('staged restore', () => {
  it('extracts and checks everything without touching what is in place; commit swaps it in and cleanup deletes the old copy', async () => {
    const file = await backupOf({ 'notes.txt': 'from the backup' });
    const live = join(dir, 'live');
    mkdirSync(live);
    writeFileSync(join(live, 'notes.txt'), 'live data');
    const state = join(dir, 'state.db');
    writeFileSync(state, 'live state');

    const staged = await stageRestore({ file, stateDbFile: state, dataDirs: [{ name: 'data', dir: live }] });
    expect(readFileSync(join(live, 'notes.txt'), 'utf8')).toBe('live data');
    expect(readFileSync(state, 'utf8')).toBe('live state');
    expect(leftovers(dir, ['src', 'state-src.db', 'b.tar.gz', 'live', 'state.db']).length).toBeGreaterThan(0);

    await staged.commit();
    expect(readFileSync(join(live, 'notes.txt'), 'utf8')).toBe('from the backup');
    expect(statSync(state).size).toBeGreaterThan(0);
    expect(readFileSync(state).subarray(0, 15).toString()).toBe('SQLite format 3');
    await staged.cleanup();
    expect(leftovers(dir, ['src', 'state-src.db', 'b.tar.gz', 'live', 'state.db'])).toEqual([]);
  });

  it('discard removes the staged copies and leaves everything in place as it was', async () => {
    const file = await backupOf({ 'notes.txt': 'from the backup' });
    const live = join(dir, 'live');
    mkdirSync(live);
    writeFileSync(join(live, 'notes.txt'), 'live data');
    const staged = await stageRestore({ file, stateDbFile: join(dir, 'state.db'), dataDirs: [{ name: 'data', dir: live }] });
    await staged.discard();
    expect(readFileSync(join(live, 'notes.txt'), 'utf8')).toBe('live data');
    expect(existsSync(join(dir, 'state.db'))).toBe(false);
    expect(leftovers(dir, ['src', 'state-src.db', 'b.tar.gz', 'live'])).toEqual([]);
  });

  it('a damaged archive fails while staging and leaves nothing behind', async () => {
    const file = await backupOf({ 'big.txt': 'x'.repeat(200_000) });
    truncateSync(file, statSync(file).size - 40);
    const live = join(dir, 'live');
    mkdirSync(live);
    writeFileSync(join(live, 'notes.txt'), 'live data');
    await expect(stageRestore({ file, stateDbFile: join(dir, 'state.db'), dataDirs: [{ name: 'data', dir: live }] })).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
    expect(readdirSync(live)).toEqual(['notes.txt']);
    expect(leftovers(dir, ['src', 'state-src.db', 'b.tar.gz', 'live'])).toEqual([]);
  });
});
