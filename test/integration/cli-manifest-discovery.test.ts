import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyExample, gantry, killAgents, spawnGantry } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await gantry(['stop'], { cwd: d });
    killAgents(d);
  }
});

describe('finding the manifest (issue 20, point 10)', () => {
  it('is found in a parent directory, like git and compose, with the state beside it', async () => {
    const dir = copyExample('hello-node');
    dirs.push(dir);
    const deep = join(dir, 'src', 'deep');
    mkdirSync(deep, { recursive: true });
    const st = await gantry(['status', '--json'], { cwd: deep });
    expect(st.code, st.stderr).toBe(0);
    expect(st.json.app).toBe('hello-node');
    const d = await gantry(['deploy', '--json'], { cwd: deep });
    expect(d.code, d.stderr).toBe(0);
    // The state is the manifest's (.gantry beside it), whichever directory the command ran in.
    const fromTop = await gantry(['releases', '--json'], { cwd: dir });
    expect(fromTop.json.map((r: any) => r.release)).toContain(d.json.release);
  });

  it('`gantry -f FILE logs -f`: -f before the command names the manifest, after `logs` it follows', async () => {
    const dir = copyExample('hello-node');
    dirs.push(dir);
    const elsewhere = mkdtempSync(join(tmpdir(), 'gantry-elsewhere-'));
    const file = join(dir, 'gantry.yaml');
    expect((await gantry(['-f', file, 'deploy', '--json'], { cwd: elsewhere })).code).toBe(0);
    const { child, done } = spawnGantry(['-f', file, 'logs', '-f', '-n', '5'], { cwd: elsewhere });
    let seen = '';
    child.stdout!.on('data', (b) => (seen += b));
    // Following: still running once the backlog is printed; ended by Ctrl-C.
    for (let i = 0; i < 100 && !seen.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(seen).toMatch(/listening/);
    await new Promise((r) => setTimeout(r, 500));
    expect(child.exitCode).toBe(null);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code === 0 || r.signal === 'SIGINT').toBe(true);
    // After the command, -f stays the command's own: a manifest named there wins too.
    const st = await gantry(['status', '-f', file, '--json'], { cwd: elsewhere });
    expect(st.json.targets[0].state).toBe('running');
  });

  it('MANIFEST_NOT_FOUND says how to name a manifest for that command', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'gantry-nomanifest-'));
    const logs = await gantry(['logs', '--json'], { cwd: empty });
    expect(logs.code).toBe(2);
    expect(logs.json.error.code).toBe('MANIFEST_NOT_FOUND');
    expect(logs.json.error.message).toMatch(/or any parent directory/);
    // Not "-f" after logs (it means --follow there).
    expect(logs.json.error.hint).toContain('gantry -f path/to/gantry.yaml logs');
    const deploy = await gantry(['deploy', '--json'], { cwd: empty });
    expect(deploy.json.error.hint).toContain('gantry deploy -f path/to/gantry.yaml');
    const validate = await gantry(['validate', '--json'], { cwd: empty });
    expect(validate.code).toBe(2);
    expect(validate.json.error.hint).toContain('gantry validate -f');
    const given = await gantry(['-f', 'nope.yaml', 'status', '--json'], { cwd: empty });
    expect(given.json.error.message).toBe(`no manifest at ${join(empty, 'nope.yaml')}`);
  });
});
