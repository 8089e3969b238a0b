import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBackup, restoreBackup } from '../../src/backup/index.js';

/**
 * Another process writes to the state DB in a tight loop (WAL mode) while the backup runs.
 * Each write transaction adds a row to `events` and bumps `counter.total`: a consistent
 * snapshot has exactly `total` rows.
 */
const WRITER = `
const Database = require(process.argv[2]);
const db = new Database(process.argv[3]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const ins = db.prepare('INSERT INTO events(payload) VALUES (?)');
const bump = db.prepare('UPDATE counter SET total = total + 1');
const tx = db.transaction((p) => { ins.run(p); bump.run(); });
const payload = 'x'.repeat(2000);
let n = 0;
process.stdout.write('ready\\n');
for (;;) { tx(payload + n++); if (n % 200 === 0) process.stdout.write(n + '\\n'); }
`;

let dir: string;
let writer: ChildProcess | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-backup-db-'));
});
afterEach(() => {
  if (writer?.pid && writer.exitCode === null) writer.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('state DB snapshot', () => {
  it('is consistent while another connection writes in a loop (WAL)', async () => {
    const file = join(dir, 'state.db');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT NOT NULL); CREATE TABLE counter (total INTEGER NOT NULL); INSERT INTO counter VALUES (0);');
    // A few MB to start with, so the copy is not instantaneous.
    const ins = db.prepare('INSERT INTO events(payload) VALUES (?)');
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) ins.run('y'.repeat(1000));
      db.prepare('UPDATE counter SET total = 5000').run();
    })();

    const script = join(dir, 'writer.cjs');
    writeFileSync(script, WRITER);
    writer = spawn(process.execPath, [script, require_resolve('better-sqlite3'), file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let written = 0;
    await new Promise<void>((resolve, reject) => {
      writer!.once('error', reject);
      writer!.once('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      writer!.stdout!.on('data', (b: Buffer) => {
        const lines = b.toString().trim().split('\n');
        if (lines.includes('ready')) resolve();
        const n = Number(lines.pop());
        if (Number.isFinite(n)) written = n;
      });
    });
    // Until the writer has committed rows of its own (it reports every 200), not a fixed 100 ms: the first snapshot must hold some.
    for (let i = 0; i < 600 && written === 0; i++) await new Promise((r) => setTimeout(r, 50));
    const before = written;

    const data = join(dir, 'data');
    mkdirSync(data);
    const out = join(dir, 'b.tar.gz');
    const snapshots: number[] = [];
    for (let i = 0; i < 3; i++) {
      await createBackup({ outFile: out, db, app: 'a', target: 't', stateSchemaVersion: 1, dataDirs: [{ name: 'data', dir: data }] });
      const dst = join(dir, `dst-${i}`);
      await restoreBackup({ file: out, stateDbFile: join(dst, 'state.db'), dataDirs: [] });
      const copy = new Database(join(dst, 'state.db'), { readonly: true });
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      const total = (copy.prepare('SELECT total FROM counter').get() as { total: number }).total;
      const rows = (copy.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
      copy.close();
      expect(rows).toBe(total);
      snapshots.push(total);
    }
    writer.kill('SIGKILL');
    expect(written).toBeGreaterThan(before); // the writer really was writing during the backups
    expect(snapshots[0]).toBeGreaterThan(5000);
    db.close();
  });
});

function require_resolve(name: string): string {
  return join(process.cwd(), 'node_modules', name);
}
