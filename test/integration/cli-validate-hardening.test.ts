/**
 * Issue 14 points 16, 17, 19 through the real CLI: `gantry validate --json`
 * names file, line, path and hint; deploy of the same manifest exits 2 with
 * the same problem (never INTERNAL) and starts nothing.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gantry, killAgents } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) {
    killAgents(d);
    rmSync(d, { recursive: true, force: true });
  }
});

/** A Node app (package.json + server) with the given gantry.yaml, in its own directory. */
function app(manifest: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-validate-hardening-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), '{"name":"h14e"}\n');
  writeFileSync(join(dir, 'server.js'), "require('http').createServer((q, s) => s.end('ok')).listen(process.env.PORT);\n");
  const file = join(dir, 'gantry.yaml');
  writeFileSync(file, manifest);
  return { dir, file };
}

const cases: Array<{ name: string; manifest: string; path: string; line: number; hint: RegExp }> = [
  { name: 'targets: {}', manifest: 'app: h14e-a\nrun:\n  command: node server.js\ntargets: {}\n', path: 'targets', line: 4, hint: /targets: \{ local: \{ type: process \} \}/ },
  { name: 'no run.command (process target)', manifest: 'app: h14e-b\nrun:\n  instances: 1\nhealth:\n  start_period: 2s\n', path: 'run.command', line: 2, hint: /command: "node server.js"/ },
  { name: 'NUL in an env value', manifest: 'app: h14e-c\nrun:\n  command: node server.js\nenv:\n  X: "a\\0b"\n', path: 'env.X', line: 5, hint: /NUL/ },
  { name: 'persist: ["."]', manifest: 'app: h14e-d\nrun:\n  command: node server.js\npersist: ["."]\n', path: 'persist[0]', line: 4, hint: /"data"/ },
  { name: 'persist repeated', manifest: 'app: h14e-e\nrun:\n  command: node server.js\npersist:\n  - data\n  - ./data/\n', path: 'persist[1]', line: 6, hint: /each directory once/ },
  { name: 'port one level too shallow', manifest: 'app: h14e-f\nrun:\n  command: node server.js\ntargets:\n  local:\n    type: process\n  port: 8080\n', path: 'targets.port', line: 7, hint: /indent "port" under "local"/ },
  {
    name: 'path un-indented out of health',
    manifest: 'app: h14e-g\nrun:\n  command: node server.js\nhealth:\npath: /health\n  interval: 1s\n  timeout: 2s\n  retries: 3\n  start_period: 20s\n',
    path: 'path',
    line: 5,
    hint: /indent "path" under "health"/,
  },
];

describe('gantry validate rejects what used to fail later', () => {
  for (const c of cases) {
    it(`${c.name}: validate names file, line, path and hint; deploy exits 2 with the same problem`, async () => {
      const { dir, file } = app(c.manifest);
      const v = await gantry(['validate', '-f', file, '--json'], { cwd: dir });
      expect(v.code, v.stdout + v.stderr).toBe(2);
      expect(v.json.valid).toBe(false);
      expect(v.json.problems).toHaveLength(1);
      expect(v.json.problems[0]).toMatchObject({ file, line: c.line, path: c.path, hint: expect.stringMatching(c.hint) });

      const d = await gantry(['deploy', '-f', file, '--json'], { cwd: dir });
      expect(d.code, d.stdout + d.stderr).toBe(2);
      expect(d.json.error.code).toBe('MANIFEST_INVALID');
      expect(d.json.error.problems[0]).toMatchObject({ file, line: c.line, path: c.path, hint: v.json.problems[0].hint });
      expect(existsSync(join(dir, '.gantry', 'apps'))).toBe(false);
    });
  }

  it('a docker app with its own Dockerfile needs no run.command; an unreachable engine is a warning, not a problem', async () => {
    const { dir, file } = app('app: h14e-h\ntargets:\n  box:\n    type: docker\n    docker_host: tcp://127.0.0.1:1\n');
    const noDockerfile = await gantry(['validate', '-f', file, '--json'], { cwd: dir });
    expect(noDockerfile.code).toBe(2);
    expect(noDockerfile.json.problems).toEqual([expect.objectContaining({ file, path: 'run.command', line: 1, hint: expect.stringMatching(/or add a Dockerfile/) })]);
    expect(noDockerfile.json.warnings).toEqual([expect.objectContaining({ file, path: 'targets.box.docker_host', line: 5, message: expect.stringMatching(/no Docker engine answers/) })]);

    writeFileSync(join(dir, 'Dockerfile'), 'FROM node:20-bookworm-slim\nCOPY . .\nCMD ["node", "server.js"]\n');
    const ok = await gantry(['validate', '-f', file, '--json'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({ valid: true, problems: [] });
    expect(ok.json.warnings).toHaveLength(1);
  });

  it('refuses a manifest over 1 MB before parsing: MANIFEST_TOO_LARGE names the file, its size and the limit', async () => {
    const { dir, file } = app('app: h14e-i\nrun:\n  command: node server.js\nenv:\n' + Array.from({ length: 100_000 }, (_, i) => `  K${i}: 1`).join('\n') + '\n');
    const started = Date.now();
    const v = await gantry(['validate', '-f', file, '--json'], { cwd: dir });
    expect(v.code).toBe(2);
    expect(v.json.error.code).toBe('MANIFEST_TOO_LARGE');
    expect(v.json.error.message).toContain(file);
    expect(v.json.error.message).toMatch(/is \d+ bytes, over the limit of 1048576 bytes/);
    expect(Date.now() - started).toBeLessThan(30_000);
    const d = await gantry(['deploy', '-f', file, '--json'], { cwd: dir });
    expect(d.code).toBe(2);
    expect(d.json.error.code).toBe('MANIFEST_TOO_LARGE');
  });
});
