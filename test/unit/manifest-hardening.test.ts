/** Issue 14 points 16, 17, 19: input the schema used to let through, indentation mistakes, oversized manifests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/core/defaults.js';
import { GantryError } from '../../src/core/errors.js';
import { validateTargets } from '../../src/engine/index.js';
import { validateManifest, validateManifestSource, type LoadOptions } from '../../src/manifest/load.js';
import { registry } from '../../src/registry/index.js';

const OPTS: LoadOptions = { vars: {}, knownTargetTypes: registry.types(), targetSchemas: (t) => registry.configSchema(t) };

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'gantry-hardening-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const check = (source: string) => validateManifestSource(source, join(tmp, 'gantry.yaml'), OPTS);
const byPath = (source: string, path: string) => check(source).problems.find((p) => p.path === path);

describe('point 16: input that passed validate and failed later', () => {
  it('refuses targets: {} at the targets line', () => {
    const r = check('app: a\nrun:\n  command: node s.js\ntargets: {}\n');
    expect(r.valid).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ path: 'targets', line: 4, message: expect.stringMatching(/no targets/), hint: expect.stringMatching(/targets: \{ local: \{ type: process \} \}/) })]);
  });

  it('refuses a NUL in an env value and in commands', () => {
    expect(byPath('app: a\nrun:\n  command: node s.js\nenv:\n  X: "a\\0b"\n', 'env.X')).toMatchObject({ line: 5, message: expect.stringMatching(/NUL/), hint: expect.stringMatching(/remove the NUL/) });
    expect(byPath('app: a\nrun:\n  command: "node\\0s.js"\n', 'run.command')).toMatchObject({ line: 3, message: expect.stringMatching(/NUL/) });
    expect(byPath('app: a\nrun:\n  command: ""\n', 'run.command')).toMatchObject({ line: 3, message: expect.stringMatching(/must not be empty/) });
  });

  it('refuses persist paths that are the app directory, leave it, repeat or overlap', () => {
    const r = check('app: a\nrun:\n  command: node s.js\npersist:\n  - "."\n  - ./\n  - ..\n  - /srv/data\n  - data\n  - ./data/\n  - data/db\n  - uploads\n');
    const paths = Object.fromEntries(r.problems.map((p) => [p.path, p]));
    expect(Object.keys(paths).sort()).toEqual(['persist[0]', 'persist[1]', 'persist[2]', 'persist[3]', 'persist[5]', 'persist[6]']);
    expect(paths['persist[0]']).toMatchObject({ line: 5, message: expect.stringMatching(/app directory itself/), hint: expect.stringMatching(/"data"/) });
    expect(paths['persist[1]']!.message).toMatch(/app directory itself/);
    expect(paths['persist[2]']!.message).toMatch(/".."/);
    expect(paths['persist[3]']!.message).toMatch(/absolute/);
    expect(paths['persist[5]']).toMatchObject({ line: 10, message: expect.stringMatching(/repeats persist\[4\]/), hint: 'list each directory once' });
    expect(paths['persist[6]']).toMatchObject({ line: 11, message: expect.stringMatching(/overlaps persist\[4\]/), hint: expect.stringMatching(/"data"/) });
  });

  it("runs the targets' own validate(): run.command is required by process, and by docker only without a Dockerfile", async () => {
    const dir = mkdtempSync(join(tmp, 'app-'));
    writeFileSync(join(dir, 'package.json'), '{}');
    const file = join(dir, 'gantry.yaml');
    // docker_host points nowhere: the engine check is a warning, never an error.
    writeFileSync(file, 'app: a\nrun:\n  port: 3000\ntargets:\n  local:\n    type: process\n  box:\n    type: docker\n    docker_host: tcp://127.0.0.1:1\n');
    const loaded = validateManifest(file, OPTS).manifest!;
    const r = await validateTargets(registry, loaded);
    expect(r.errors.map((p) => [p.path, p.line, p.file])).toEqual([
      ['run.command', 2, file],
      ['run.command', 2, file],
    ]);
    expect(r.errors[0]!.message).toMatch(/process target "local"/);
    expect(r.errors[1]!.message).toMatch(/docker target "box" generates/);
    expect(r.errors[1]!.hint).toMatch(/or add a Dockerfile/);
    expect(r.warnings).toEqual([expect.objectContaining({ path: 'targets.box.docker_host', line: 9, message: expect.stringMatching(/no Docker engine answers/) })]);

    // With its own Dockerfile the image's CMD starts the app: docker needs no run.command.
    writeFileSync(join(dir, 'Dockerfile'), 'FROM scratch\n');
    const only = await validateTargets(registry, validateManifest(file, OPTS).manifest!, 'box');
    expect(only.errors).toEqual([]);

    writeFileSync(file, 'app: a\nrun:\n  command: x\ntargets:\n  box:\n    type: docker\n    docker_host: "not a url"\n');
    const bad = await validateTargets(registry, validateManifest(file, OPTS).manifest!);
    expect(bad.errors).toEqual([expect.objectContaining({ path: 'targets.box.docker_host', line: 7, hint: expect.stringMatching(/unix:\/\/\/var\/run\/docker.sock/) })]);
  });
});

describe('point 17: indentation mistakes', () => {
  it('a target setting one level too shallow says where it is valid', () => {
    const r = check('app: a\nrun:\n  command: node s.js\ntargets:\n  local:\n    type: process\n  port: 8080\n');
    expect(r.problems).toEqual([expect.objectContaining({ path: 'targets.port', line: 7, hint: expect.stringMatching(/did you mean to indent "port" under "local"\?.*one level deeper, as targets\.local\.port/) })]);
  });

  it('an un-indented key inside a block is one problem on its own line, not one per following line', () => {
    const lines = ['app: a', 'run:', '  command: node s.js', 'health:', 'path: /health', '  interval: 1s', '  timeout: 2s', '  retries: 3', '  start_period: 20s', 'env:', '  A: b'];
    const r = check(lines.join('\n') + '\n');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ line: 5, column: 1, path: 'path', message: expect.stringMatching(/lines 6-9/), hint: expect.stringMatching(/did you mean to indent "path" under "health"\?/) });
  });

  it('an un-indented last key: the empty block is not a second problem', () => {
    const r = check('app: a\nrun:\n  command: node s.js\nhealth:\npath: /health\n');
    expect(r.problems).toEqual([expect.objectContaining({ path: 'path', line: 5, hint: expect.stringMatching(/indent "path" under "health"/) })]);
    const t = check('app: a\nrun:\n  command: node s.js\ntargets:\n  local:\n  type: process\n');
    expect(t.problems).toEqual([expect.objectContaining({ path: 'targets.type', line: 6, hint: expect.stringMatching(/indent "type" under "local"/) })]);
  });

  it('a key one level too deep says it is valid shallower', () => {
    const r = check('app: a\nrun:\n  command: node s.js\n  targets:\n    local:\n      type: process\n');
    expect(r.problems).toEqual([expect.objectContaining({ path: 'run.targets', line: 4, hint: expect.stringMatching(/un-indent "targets".*one level shallower, at the top level/) })]);
  });
});

describe('point 19: size', () => {
  it('refuses a manifest over the limit before parsing, naming the file, its size and the limit', () => {
    const file = join(tmp, 'huge.yaml');
    const size = DEFAULTS.manifestMaxBytes + 1;
    writeFileSync(file, 'app: a\n' + '#'.repeat(size - 7));
    let err: unknown;
    const started = Date.now();
    try {
      validateManifest(file, OPTS);
    } catch (e) {
      err = e;
    }
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err).toBeInstanceOf(GantryError);
    expect((err as GantryError).code).toBe('MANIFEST_TOO_LARGE');
    expect((err as GantryError).exitCode).toBe(2);
    expect((err as GantryError).message).toContain(file);
    expect((err as GantryError).message).toContain(`${size} bytes`);
    expect((err as GantryError).message).toContain(`${DEFAULTS.manifestMaxBytes} bytes`);
  });

  it('a mapping with many keys is no longer quadratic, and duplicates are still found', () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `  K${i}: 1`).join('\n');
    const started = process.cpuUsage();
    const r = check(`app: a\nrun:\n  command: x\nenv:\n${keys}\n`);
    const cpuMs = (process.cpuUsage(started).user + process.cpuUsage(started).system) / 1000;
    expect(r.valid).toBe(true);
    // yaml's own duplicate check took ~5 s of CPU here; the whole validation now takes a fraction of that.
    expect(cpuMs).toBeLessThan(3_000);
    const dup = check('app: a\nrun:\n  command: x\napp: b\n');
    expect(dup.problems[0]).toMatchObject({ line: 4, path: 'app', message: expect.stringMatching(/unique/), hint: expect.stringMatching(/only once/) });
  });
});
