/**
 * The server keeps loaded manifests (src/server/manifest-cache.ts): an edit to the
 * file is still seen at the next load (keyed by content, not by mtime: here the edit
 * keeps the size and the mtime), overrides are part of the key, and every caller
 * gets its own copy.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadApp, type AppRow } from '../../src/server/apps.js';

const manifest = (greeting: string) => `app: cache-app\nrun:\n  command: node server.js\nenv:\n  GREETING: ${greeting}\ntargets:\n  local:\n    type: process\n`;

function appRow(): AppRow {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-manifest-cache-'));
  writeFileSync(join(dir, 'gantry.yaml'), manifest('aaaa'));
  return { name: 'cache-app', project_id: 'p', manifest_path: join(dir, 'gantry.yaml'), manifest_text: null, source_dir: dir, created_at: new Date().toISOString() };
}

describe('loadApp keeps loaded manifests', () => {
  it('sees an edit that keeps the size and the mtime', () => {
    const app = appRow();
    expect(loadApp(app).loaded.manifest.env).toEqual({ GREETING: 'aaaa' });
    const st = statSync(app.manifest_path!);
    writeFileSync(app.manifest_path!, manifest('bbbb'));
    utimesSync(app.manifest_path!, st.atime, st.mtime);
    expect(statSync(app.manifest_path!).size).toBe(st.size);
    expect(loadApp(app).loaded.manifest.env).toEqual({ GREETING: 'bbbb' });
    expect(readFileSync(app.manifest_path!, 'utf8')).toContain('bbbb');
  });

  it('keys on the overrides, and hands each caller its own copy', () => {
    const app = appRow();
    const a = loadApp(app, { envVars: { EXTRA: 'one' } });
    const b = loadApp(app, { envVars: { EXTRA: 'two' } });
    expect(a.loaded.manifest.env).toMatchObject({ EXTRA: 'one' });
    expect(b.loaded.manifest.env).toMatchObject({ EXTRA: 'two' });
    const c = loadApp(app, { targetType: 'process' });
    expect(c.target).toBe('local');
    (a.loaded.manifest.env as Record<string, unknown>).EXTRA = 'changed by a caller';
    expect(loadApp(app, { envVars: { EXTRA: 'one' } }).loaded.manifest.env).toMatchObject({ EXTRA: 'one' });
    expect(loadApp(app).loaded.manifest.env).toEqual({ GREETING: 'aaaa' });
  });
});
