import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { formation } from '../../src/engine/formation.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { Store } from '../../src/store/index.js';

describe('formation (issue 15 point 6)', () => {
  it('a scaled count holds while the manifest still says what it said when scaling; otherwise the manifest wins', () => {
    expect(formation({ instances: 2 }, 2)).toEqual({ instances: 2, source: 'manifest' });
    expect(formation({ instances: 5 }, 2)).toEqual({ instances: 2, source: 'manifest' });
    expect(formation({ instances: 3, scaledFromManifest: 1 }, 1)).toEqual({ instances: 3, source: 'scale' });
    expect(formation({ instances: 0, scaledFromManifest: 1 }, 1)).toEqual({ instances: 0, source: 'scale' });
    expect(formation({ instances: 3, scaledFromManifest: 1 }, 4)).toEqual({ instances: 4, source: 'manifest' });
  });

  it('the store keeps and clears scaledFromManifest, and migrates a version-1 database', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gantry-formation-')), 'state.db');
    const v1 = new Database(file);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    v1.prepare("INSERT INTO apps(name, created_at) VALUES ('a', 'x')").run();
    v1.prepare("INSERT INTO targets(app, name, type, instances, updated_at) VALUES ('a', 't', 'process', 2, 'x')").run();
    v1.close();
    const s = new Store(file);
    expect(s.schemaVersion).toBe(MIGRATIONS.length);
    expect(s.getTarget('a', 't')).toMatchObject({ instances: 2, scaledFromManifest: undefined });
    s.updateTarget('a', 't', { instances: 0, scaledFromManifest: 2 });
    expect(s.getTarget('a', 't')).toMatchObject({ instances: 0, scaledFromManifest: 2 });
    s.updateTarget('a', 't', { currentRelease: 'r1' });
    expect(s.getTarget('a', 't')!.scaledFromManifest).toBe(2);
    s.updateTarget('a', 't', { instances: 4, scaledFromManifest: undefined });
    expect(s.getTarget('a', 't')).toMatchObject({ instances: 4, scaledFromManifest: undefined });
    s.close();
  });
});
