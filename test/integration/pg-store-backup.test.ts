/**
 * Backup and restore with the engine's state on PostgreSQL (a server on `--database postgres://…`):
 * the engine as the server opens it (the built dist/, its worker thread included), hello-node on the
 * process target. The archive's state/state.db holds the app's rows; a restore puts them back in
 * PostgreSQL (one transaction) and starts the backed-up release.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifest } from '../../dist/manifest/index.js';
import { openEngineFace, type EngineFace } from '../../dist/server/engine-face.js';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { createTestDatabase, postgresProblem, type TestDatabase } from '../helpers/postgres.js';
import { killServerAgents } from '../helpers/server.js';

const APP = 'pgstore-backup';
let db: TestDatabase | undefined;
let face: EngineFace | undefined;
let dataDir = '';

describe.skipIf(postgresProblem)('backup and restore on the PostgreSQL state store', () => {
  beforeAll(async () => {
    db = await createTestDatabase('gantry_pgbackup');
    dataDir = join(mkdtempSync(join(tmpdir(), 'gantry-pgbackup-')), 'data');
    face = openEngineFace(dataDir, db.url);
  });

  afterAll(async () => {
    killServerAgents(dataDir);
    face?.close();
    await db?.drop();
  });

  it("backs up the app's rows and restores them into PostgreSQL, then runs the backed-up release", async () => {
    const dir = copyExample('hello-node');
    const write = (v: number) => writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms }', `env: { GREETING: "v${v}" }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
    const load = () => loadManifest(join(dir, 'gantry.yaml'));
    const { engine, store } = face!;
    write(1);
    const v1 = await engine.deploy(load(), 'local');
    expect(v1.status).toBe('succeeded');
    const backup = await engine.backup(load(), 'local');
    // The archive's state is a SQLite file holding this app's rows (PostgreSQL exported them).
    const out = mkdtempSync(join(tmpdir(), 'gantry-pgbackup-x-'));
    execFileSync('tar', ['xzf', backup.file, '-C', out, 'state/state.db']);
    const archived = new Database(join(out, 'state', 'state.db'), { readonly: true });
    expect(archived.prepare('SELECT id FROM releases WHERE app = ?').all(APP)).toEqual([{ id: v1.release }]);
    archived.close();

    write(2);
    const v2 = await engine.deploy(load(), 'local');
    expect(v2.status).toBe('succeeded');
    expect(store.listReleases(APP, 'local')).toHaveLength(2);

    const restored = await engine.restore(load(), 'local', backup.file, { force: true });
    expect(restored.release).toBe(v1.release);
    expect(store.getTarget(APP, 'local')?.currentRelease).toBe(v1.release);
    expect(store.listReleases(APP, 'local').map((r) => r.id)).toEqual([v1.release]);
    expect((await getJson(`${restored.url}/`)).release).toBe(v1.release);
    // The audit log is kept (it is not part of an app's rows): the restore is in it.
    expect(store.listAudit(5).map((a) => a.action)).toContain('restore');
  });
});
