import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gantry, killAgents, ROOT } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await gantry(['stop'], { cwd: d });
    killAgents(d);
  }
});

function appDir(example: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-init-'));
  cpSync(join(ROOT, 'examples', example), dir, { recursive: true });
  rmSync(join(dir, 'gantry.yaml'));
  dirs.push(dir);
  return dir;
}

describe('gantry init', () => {
  it('detects a Node app, writes a commented manifest that validates and deploys', async () => {
    const dir = appDir('hello-node');
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ app: 'hello-node', runtime: 'node', command: 'npm start' });
    const text = readFileSync(join(dir, 'gantry.yaml'), 'utf8');
    expect(text).toMatch(/^# /m);
    expect((await gantry(['validate'], { cwd: dir })).code).toBe(0);
    const again = await gantry(['init'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/--force/);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect((await getJson(d.json.url + '/')).release).toBe(d.json.release);
  });

  it('detects a Python app', async () => {
    const dir = appDir('hello-python');
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.json).toMatchObject({ runtime: 'python', command: 'python3 app.py' });
    expect((await gantry(['validate', '--json'], { cwd: dir })).json.valid).toBe(true);
  });
});

describe('gantry doctor, help and usage errors', () => {
  it('doctor reports each check as JSON', async () => {
    const dir = appDir('hello-node');
    const r = await gantry(['doctor', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.json.ok).toBe(true);
    expect(r.json.checks.map((c: any) => c.name)).toEqual(expect.arrayContaining(['node', 'sqlite (better-sqlite3)', 'state directory', 'process: /bin/sh']));
  });

  it('--help shows examples; an unknown option is bad usage (exit 2)', async () => {
    const h = await gantry(['deploy', '--help'], { cwd: ROOT });
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Examples:/);
    const bad = await gantry(['deploy', '--no-such-flag'], { cwd: ROOT });
    expect(bad.code).toBe(2);
    const status = await gantry(['status', '--json'], { cwd: mkdtempSync(join(tmpdir(), 'gantry-empty-')) });
    expect(status.code).toBe(2);
    expect(status.json.error.code).toBe('MANIFEST_NOT_FOUND');
    expect(existsSync(join(ROOT, '.gantry'))).toBe(false);
  });
});
