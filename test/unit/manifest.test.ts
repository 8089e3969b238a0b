import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { GantryError } from '../../src/core/errors.js';
import { interpolateString } from '../../src/manifest/interpolate.js';
import { manifestJsonSchema } from '../../src/manifest/json-schema.js';
import { formatProblem, loadManifest, validateManifest, validateManifestSource, type LoadOptions } from '../../src/manifest/load.js';
import { ManifestSchema } from '../../src/manifest/schema.js';
import { closest, editDistance } from '../../src/manifest/suggest.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/manifests/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);
const KNOWN_TYPES = ['process', 'docker', 'ssh', 'kubernetes', 'azure-functions', 'edge'];
const BASE: LoadOptions = { vars: {}, knownTargetTypes: KNOWN_TYPES };

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'gantry-manifest-test-'));
});
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** Validate inline YAML written to a temporary gantry.yaml. */
function check(source: string, opts: LoadOptions = {}) {
  const file = join(tmp, 'gantry.yaml');
  writeFileSync(file, source);
  return validateManifest(file, { ...BASE, ...opts });
}

describe('broken fixtures: one problem each, at the right place, with a hint', () => {
  const cases: Array<{ file: string; opts?: LoadOptions; path: string; line: number; column: number; message: RegExp; hint?: RegExp }> = [
    { file: 'bad-unknown-top-key.yaml', path: 'strategie', line: 4, column: 1, message: /unknown key "strategie"/, hint: /did you mean "strategy"\?/ },
    { file: 'bad-unknown-nested-key.yaml', path: 'run.instnces', line: 4, column: 3, message: /unknown key "instnces"/, hint: /did you mean "instances"\?/ },
    { file: 'bad-wrong-type.yaml', path: 'run.instances', line: 4, column: 14, message: /expected an integer, found the string "two"/ },
    { file: 'bad-duration.yaml', path: 'health.interval', line: 4, column: 13, message: /invalid duration "5 minutes": expected "500ms", "30s", "5m", "1h" or a number of seconds/ },
    // A missing key points at its parent mapping (here the document root, whose first key is on line 2).
    { file: 'bad-missing-app.yaml', path: 'app', line: 2, column: 1, message: /missing required key "app"/, hint: /add "app:"/ },
    { file: 'bad-app-name.yaml', path: 'app', line: 1, column: 6, message: /invalid app name "My App"/, hint: /did you mean "my-app"\?/ },
    { file: 'bad-target-type.yaml', path: 'targets.box.type', line: 6, column: 11, message: /unknown target type "dokker"/, hint: /did you mean "docker"\?.*known target types: "process", "docker"/ },
    { file: 'bad-missing-var.yaml', path: 'env.DATABASE_HOST', line: 6, column: 18, message: /"GANTRY_TEST_UNSET_DB_HOST" is not set/, hint: /export GANTRY_TEST_UNSET_DB_HOST=.*\$\{GANTRY_TEST_UNSET_DB_HOST:-default\}/ },
    { file: 'bad-yaml-syntax.yaml', path: 'run.port', line: 5, column: 1, message: /YAML syntax error/ },
    { file: 'bad-unknown-env.yaml', opts: { env: 'stagin' }, path: 'environments', line: 4, column: 1, message: /unknown environment "stagin"/, hint: /did you mean "staging"\? known environments: "staging", "production"/ },
    { file: 'bad-canary-steps.yaml', path: 'strategy.steps[2]', line: 4, column: 19, message: /last canary step must be 100, found 50/, hint: /\[10, 25, 50, 100\]/ },
    { file: 'bad-persist-dotdot.yaml', path: 'persist[1]', line: 4, column: 5, message: /contains "\.\."/, hint: /"shared\/uploads"/ },
  ];

  it('covers every bad-*.yaml fixture', () => {
    const files = readdirSync(FIXTURES).filter((f) => f.startsWith('bad-'));
    expect(files.sort()).toEqual(cases.map((c) => c.file).sort());
  });

  for (const c of cases) {
    it(c.file, () => {
      const r = validateManifest(fixture(c.file), { ...BASE, ...c.opts });
      expect(r.valid).toBe(false);
      expect(r.manifest).toBeUndefined();
      expect(r.problems).toHaveLength(1);
      const p = r.problems[0]!;
      expect(p.file).toBe(fixture(c.file));
      expect(p.path).toBe(c.path);
      expect(p.line).toBe(c.line);
      expect(p.column).toBe(c.column);
      expect(p.message).toMatch(c.message);
      expect(p.hint).toBeTruthy();
      if (c.hint) expect(p.hint).toMatch(c.hint);
    });
  }

  it('loadManifest throws MANIFEST_INVALID with the problems', () => {
    let err: unknown;
    try {
      loadManifest(fixture('bad-unknown-nested-key.yaml'), BASE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GantryError);
    const g = err as GantryError;
    expect(g.code).toBe('MANIFEST_INVALID');
    expect(g.exitCode).toBe(2);
    expect(g.hint).toBeTruthy();
    expect(g.message).toContain('run.instnces');
    const problems = (g.details as { problems: Array<{ path: string }> }).problems;
    expect(problems.map((p) => p.path)).toEqual(['run.instnces']);
  });

  it('loadManifest throws MANIFEST_NOT_FOUND for a missing file', () => {
    expect(() => loadManifest(join(tmp, 'nope.yaml'))).toThrowError(expect.objectContaining({ code: 'MANIFEST_NOT_FOUND', hint: expect.stringContaining('gantry init') }));
  });

  it('accepts a directory and reads its gantry.yaml', () => {
    writeFileSync(join(tmp, 'gantry.yaml'), 'app: from-dir\n');
    expect(loadManifest(tmp, BASE).manifest.app).toBe('from-dir');
  });
});

describe('problems', () => {
  it('collects every problem instead of stopping at the first, sorted by line', () => {
    const r = check('app: Bad_Name\nrun:\n  instnces: 2\n  port: 70000\nhealth:\n  timeout: forever\nexclusive: "yes"\n');
    expect(r.problems.map((p) => [p.path, p.line])).toEqual([
      ['app', 1],
      ['run.instnces', 3],
      ['run.port', 4],
      ['health.timeout', 6],
      ['exclusive', 7],
    ]);
    expect(r.problems.every((p) => p.hint && p.file && p.line && p.column)).toBe(true);
    expect(r.problems[2]!.message).toBe('must be at most 65535, found 70000');
    expect(r.problems[4]!.message).toBe('expected true or false, found the string "yes"');
  });

  it('says what was expected and what was found, with useful hints', () => {
    const r = check('app: a\nrun:\n  instances: "3"\n  command: 42\nhealth:\n  type: htp\nenv:\n  A: { b: 1 }\n');
    const byPath = Object.fromEntries(r.problems.map((p) => [p.path, p]));
    expect(byPath['run.instances']!.message).toBe('expected an integer, found the string "3"');
    expect(byPath['run.instances']!.hint).toBe('remove the quotes: instances: 3');
    expect(byPath['run.command']!.message).toBe('expected a string, found 42');
    expect(byPath['run.command']!.hint).toBe('quote the value: command: "42"');
    expect(byPath['health.type']!.message).toBe('expected one of "http", "tcp", "command", found the string "htp"');
    expect(byPath['health.type']!.hint).toBe('did you mean "http"?');
    expect(byPath['env.A']!.message).toBe('expected a string, number or boolean, found a mapping');
  });

  it('lists the allowed keys when no key is close, and knows where a misplaced key belongs', () => {
    const r = check('app: a\nrun:\n  zzzzzz: 1\nport: 3000\n');
    expect(r.problems[0]!.path).toBe('run.zzzzzz');
    expect(r.problems[0]!.hint).toBe('allowed keys under "run": "command", "port", "instances"');
    expect(r.problems[1]!.path).toBe('port');
    expect(r.problems[1]!.hint).toMatch(/did you mean to indent "port" under "run"/);
  });

  it('points a missing nested key at its parent mapping', () => {
    const r = check('app: a\nautoscale:\n  max: 3\n  cpu_percent: 50\n');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ path: 'autoscale.min', line: 2, column: 1, message: 'missing required key "min"' });
  });

  it('checks cross-field rules', () => {
    const r = check('app: a\nautoscale: { min: 3, max: 2 }\nstrategy: { max_surge: 0 }\nhealth: { type: command }\n');
    expect(r.problems.map((p) => p.path).sort()).toEqual(['autoscale', 'autoscale.max', 'health.command', 'strategy.max_surge']);
  });

  it('rejects bad names of targets, env vars, secrets and environments', () => {
    const r = check('app: a\ntargets:\n  Box: { type: docker }\nenv:\n  1BAD: x\nsecrets: [db_url]\nenvironments:\n  Prod: {}\n');
    expect(r.problems.map((p) => [p.path, p.line, p.column])).toEqual([
      ['targets.Box', 3, 3],
      ['env.1BAD', 5, 3],
      ['secrets[0]', 6, 11],
      ['environments.Prod', 8, 3],
    ]);
    expect(r.problems[2]!.hint).toMatch(/did you mean "DB_URL"\?/);
  });

  it('validates target configs with the target type schema, at paths under targets.<name>', () => {
    const docker = z.strictObject({ ports: z.array(z.string()).optional(), memory: z.string().optional() });
    const r = check('app: a\ntargets:\n  box:\n    type: docker\n    ports: [8080]\n    memroy: 1G\n', {
      targetSchemas: (t) => (t === 'docker' ? docker : undefined),
    });
    expect(r.problems.map((p) => [p.path, p.line, p.column, p.message, p.hint])).toEqual([
      ['targets.box.ports[0]', 5, 13, 'expected a string, found 8080', 'quote the value: "8080"'],
      ['targets.box.memroy', 6, 5, 'unknown key "memroy"', 'did you mean "memory"?'],
    ]);
  });

  it('strategy.auto_rollback was removed (a failed gate always restores the previous release): named with a hint saying so', () => {
    const r = check('app: a\nstrategy:\n  type: rolling\n  auto_rollback: false\n');
    expect(r.problems.map((p) => [p.path, p.line, p.column, p.message])).toEqual([['strategy.auto_rollback', 4, 3, 'unknown key "auto_rollback"']]);
    expect(r.problems[0]!.hint).toMatch(/always goes back to the previous release/);
  });

  it('rejects a document that is not a mapping', () => {
    const r = check('- a\n- b\n');
    expect(r.problems).toEqual([expect.objectContaining({ path: '', line: 1, column: 1, message: expect.stringContaining('must be a mapping') })]);
  });

  it('refuses __proto__ keys', () => {
    const r = check('app: a\nenv:\n  __proto__: x\n');
    expect(r.problems).toEqual([expect.objectContaining({ path: 'env.__proto__', line: 3, column: 3 })]);
  });

  it('reports duplicate keys as YAML errors', () => {
    const r = check('app: a\napp: b\n');
    expect(r.problems[0]).toMatchObject({ line: 2, message: expect.stringContaining('unique') });
    expect(r.problems[0]!.hint).toMatch(/only once/);
  });

  it('formats a problem on one line', () => {
    const p = { file: join(process.cwd(), 'gantry.yaml'), line: 7, column: 3, path: 'run.instnces', message: 'unknown key "instnces"', hint: 'did you mean "instances"?' };
    expect(formatProblem(p)).toBe('gantry.yaml:7:3 run.instnces: unknown key "instnces" (hint: did you mean "instances"?)');
    expect(formatProblem({ path: 'app', message: 'x' })).toBe('app: x');
  });
});

describe('the resolved manifest', () => {
  it('loads the full fixture with durations in milliseconds', () => {
    const loaded = loadManifest(fixture('valid-full.yaml'), BASE);
    const m = loaded.manifest;
    expect(loaded.file).toBe(fixture('valid-full.yaml'));
    expect(loaded.dir).toBe(dirname(fixture('valid-full.yaml')));
    expect(loaded.env).toBeUndefined();
    expect(m.health).toMatchObject({ type: 'http', interval: 1000, timeout: 500, start_period: 30_000, retries: 3, expect_status: 200 });
    expect(m.strategy).toMatchObject({ type: 'canary', keep_previous: 120_000, pause: 30_000, watch: 60_000, drain_timeout: 15_000, stop_timeout: 10_000, steps: [10, 50, 100] });
    expect(m.autoscale).toEqual({ min: 1, max: 4, cpu_percent: 70, concurrency: 50, cooldown: 30_000 });
    expect(m.env).toEqual({ LOG_LEVEL: 'info', WORKERS: '4', DEBUG: 'false', DATABASE_HOST: 'localhost' });
    expect(m.run.command).toBe('node server.js --port ${PORT}');
    expect(m.targets.box).toEqual({ type: 'docker', ports: ['8080:3000'], resources: { memory: '512Mi', cpus: 0.5 } });
    expect(loaded.raw.app).toBe('hello');
  });

  it('applies defaults', () => {
    const m = check('app: hello\n').manifest!.manifest;
    expect(m.run).toEqual({ port: 3000, instances: 1 });
    expect(m.health).toEqual({ type: 'http', path: '/health', interval: 1000, timeout: 2000, start_period: 30_000, retries: 3 });
    expect(m.strategy).toEqual({
      type: 'rolling',
      max_unavailable: 0,
      max_surge: 1,
      keep_previous: 60_000,
      steps: [10, 50, 100],
      pause: 30_000,
      watch: 10_000,
      drain_timeout: 10_000,
      stop_timeout: 10_000,
      batch: 1,
      max_failed: 0,
      node_timeout: 600_000,
    });
    expect(m.exclusive).toBe(false);
    expect(m.targets).toEqual({ local: { type: 'process' } });
    expect(m.env).toEqual({});
    expect(m.secrets).toEqual([]);
    expect(m.persist).toEqual([]);
  });

  it('defaults the health type to command when a command is given', () => {
    expect(check('app: a\nhealth: { command: ./check.sh }\n').manifest!.manifest.health.type).toBe('command');
    expect(check('app: a\nhealth: { type: tcp }\n').manifest!.manifest.health.type).toBe('tcp');
  });

  it('parses durations in every accepted form', () => {
    const m = check('app: a\nhealth: { interval: 250ms, timeout: 1.5s, start_period: 2m }\nstrategy: { watch: 1h, drain_timeout: 3, stop_timeout: 0.5, pause: manual }\n').manifest!.manifest;
    expect([m.health.interval, m.health.timeout, m.health.start_period]).toEqual([250, 1500, 120_000]);
    expect([m.strategy.watch, m.strategy.drain_timeout, m.strategy.stop_timeout, m.strategy.pause]).toEqual([3_600_000, 3000, 500, 'manual']);
    expect(check('app: a\nhealth: { interval: -1 }\n').problems[0]).toMatchObject({ path: 'health.interval', message: 'must be at least 0, found -1' });
    expect(check('app: a\nhealth: { interval: [1] }\n').problems[0]!.message).toMatch(/expected a duration \("500ms", "30s", "5m", "1h" or a number of seconds\), found a list/);
  });
});

describe('interpolation', () => {
  const vars = { NAME: 'world', EMPTY: '', NESTED: '${NAME}' };

  it('substitutes ${VAR} and ${VAR:-default}', () => {
    expect(interpolateString('hello ${NAME}!', vars).value).toBe('hello world!');
    expect(interpolateString('${UNSET:-fallback}', vars).value).toBe('fallback');
    expect(interpolateString('${EMPTY:-fallback}', vars).value).toBe('fallback');
    expect(interpolateString('${NAME:-fallback}', vars).value).toBe('world');
    expect(interpolateString('[${EMPTY}]', vars).value).toBe('[]');
  });

  it('treats $${ as a literal ${ and leaves bare $VAR alone', () => {
    expect(interpolateString('$${NAME} and $NAME and $$', vars)).toEqual({ value: '${NAME} and $NAME and $$', missing: [], invalid: [] });
  });

  it('never scans substituted text again', () => {
    expect(interpolateString('${NESTED}', vars).value).toBe('${NAME}');
  });

  it('leaves reserved runtime names for the shell', () => {
    for (const name of ['PORT', 'GANTRY_RELEASE', 'GANTRY_APP', 'GANTRY_INSTANCE', 'GANTRY_TARGET']) {
      expect(interpolateString(`x \${${name}} y`, { [name]: 'set' })).toEqual({ value: `x \${${name}} y`, missing: [], invalid: [] });
    }
    expect(interpolateString('${PORT:-3000}', {}).value).toBe('${PORT:-3000}');
  });

  it('reports missing and malformed references', () => {
    expect(interpolateString('${A}${B:-b}${C}', {})).toMatchObject({ missing: ['A', 'C'] });
    expect(interpolateString('${1X} ${OPEN', {}).invalid).toEqual(['${1X}', '${OPEN']);
  });

  it('interpolates manifest values from opts.vars, re-typing unquoted values', () => {
    const r = check('app: ${APP}\nrun:\n  instances: ${N}\n  command: "serve --port ${PORT} --name ${APP}"\nenv:\n  QUOTED: "${N}"\n  LITERAL: $${HOME}\n', { vars: { APP: 'hello', N: '3' } });
    expect(r.problems).toEqual([]);
    const m = r.manifest!.manifest;
    expect(m.app).toBe('hello');
    expect(m.run.instances).toBe(3);
    expect(m.run.command).toBe('serve --port ${PORT} --name hello');
    expect(m.env).toEqual({ QUOTED: '3', LITERAL: '${HOME}' });
    expect(r.manifest!.raw.run).toEqual({ instances: 3, command: 'serve --port ${PORT} --name hello' });
  });

  it('reports a missing variable once, at its scalar', () => {
    const r = check('app: a\nrun:\n  instances: ${N}\n');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ path: 'run.instances', line: 3, column: 14, message: 'environment variable "N" is not set' });
  });

  it('defaults to process.env', () => {
    process.env.GANTRY_MANIFEST_TEST_VAR = 'from-env';
    try {
      const r = check('app: a\nenv: { X: "${GANTRY_MANIFEST_TEST_VAR}" }\n', { vars: undefined });
      expect(r.manifest!.manifest.env.X).toBe('from-env');
    } finally {
      delete process.env.GANTRY_MANIFEST_TEST_VAR;
    }
  });
});

describe('environments', () => {
  it('deep-merges the selected environment (mappings merge, lists and values replace)', () => {
    const prod = loadManifest(fixture('valid-full.yaml'), { ...BASE, env: 'production' });
    expect(prod.env).toBe('production');
    expect(prod.manifest.run.instances).toBe(4);
    expect(prod.manifest.run.command).toBe('node server.js --port ${PORT}');
    expect(prod.manifest.autoscale).toMatchObject({ min: 1, max: 8, cpu_percent: 70 });
    const staging = loadManifest(fixture('valid-full.yaml'), { ...BASE, env: 'staging' });
    expect(staging.manifest.env).toMatchObject({ LOG_LEVEL: 'debug', WORKERS: '4' });
    expect(staging.manifest.strategy.pause).toBe('manual');
    expect(staging.manifest.strategy.type).toBe('canary');
    const r = check('app: a\npersist: [a, b]\nenvironments:\n  x:\n    persist: [c]\n', { env: 'x' });
    expect(r.manifest!.manifest.persist).toEqual(['c']);
  });

  it('points problems from an overlay at the overlay', () => {
    const src = ['app: a', 'run:', '  instances: 2', 'environments:', '  production:', '    run:', '      instances: many', '      instnces: 3', ''].join('\n');
    const r = check(src, { env: 'production' });
    expect(r.problems.map((p) => [p.path, p.line, p.column, p.message])).toEqual([
      ['run.instances', 7, 18, 'expected an integer, found the string "many"'],
      ['run.instnces', 8, 7, 'unknown key "instnces"'],
    ]);
  });

  it('checks environments that are not selected too', () => {
    const r = check('app: a\nenvironments:\n  production:\n    run: { instnces: 3 }\n    app: other\n');
    expect(r.problems.map((p) => [p.path, p.line, p.hint])).toEqual([
      ['environments.production.run.instnces', 4, 'did you mean "instances"?'],
      ['environments.production.app', 5, expect.stringContaining('allowed keys under "environments.production"')],
    ]);
  });

  it('accepts partial overlays of sections with required keys', () => {
    const r = check('app: a\nautoscale: { min: 1, max: 2, cpu_percent: 50 }\ntargets: { local: { type: process } }\nenvironments:\n  big:\n    autoscale: { max: 10 }\n    targets:\n      local: { port: 8080 }\n', { env: 'big' });
    expect(r.problems).toEqual([]);
    expect(r.manifest!.manifest.autoscale!.max).toBe(10);
    expect(r.manifest!.manifest.targets.local).toEqual({ type: 'process', port: 8080 });
  });

  it('explains when no environments are defined', () => {
    const r = check('app: a\n', { env: 'staging' });
    expect(r.problems[0]).toMatchObject({ path: 'environments', line: 1, column: 1, hint: expect.stringContaining('defines no environments') });
  });
});

describe('JSON schema', () => {
  it('is generated from the zod schema, input side, with descriptions', () => {
    const s = manifestJsonSchema() as { $schema: string; title: string; description: string; properties: Record<string, { description?: string; properties?: Record<string, unknown> }>; required: string[] };
    expect(s.$schema).toContain('json-schema.org');
    expect(s.title).toMatch(/Gantry/);
    expect(s.description).toBeTruthy();
    expect(s.required).toEqual(['app']);
    expect(s.properties.app).toMatchObject({ type: 'string', description: expect.any(String) });
    expect(Object.keys(s.properties)).toEqual(expect.arrayContaining(['app', 'build', 'run', 'health', 'env', 'secrets', 'strategy', 'hooks', 'persist', 'exclusive', 'autoscale', 'backup', 'environments', 'targets']));
    expect(s.properties.run!.properties!.instances).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 1, description: expect.any(String) });
    expect(JSON.stringify(s)).not.toContain('"format":"starts_with"');
  });

  it('shares its rules with the parser (ManifestSchema)', () => {
    expect(ManifestSchema.safeParse({ app: 'x', run: { instances: 0 } }).success).toBe(false);
  });
});

describe('suggestions', () => {
  it('uses edit distance with transpositions', () => {
    expect(editDistance('instnces', 'instances')).toBe(1);
    expect(editDistance('tpye', 'type')).toBe(1);
    expect(closest('dokker', KNOWN_TYPES)).toBe('docker');
    expect(closest('kubernets', KNOWN_TYPES)).toBe('kubernetes');
    expect(closest('zzz', KNOWN_TYPES)).toBeUndefined();
  });
});

describe('shell metacharacters', () => {
  const MARKER_PREFIX = 'gantry-pwned-';
  const markers = () => readdirSync('/tmp').filter((f) => f.startsWith(MARKER_PREFIX));

  it('loads and validates the metachars manifest without executing anything', async () => {
    for (const f of markers()) rmSync(join('/tmp', f), { force: true });
    const opts = { ...BASE, vars: { HOME: '/home/someone' } };
    const plain = loadManifest(fixture('metachars.yaml'), opts);
    const staging = loadManifest(fixture('metachars.yaml'), { ...opts, env: 'staging' });
    expect(validateManifest(fixture('metachars.yaml'), opts).valid).toBe(true);
    expect(validateManifestSource(JSON.stringify(plain.raw), join(tmp, 'x.yaml'), opts).valid).toBe(true);

    const m = plain.manifest;
    expect(m.build!.command).toBe(
      "echo $(touch /tmp/gantry-pwned-build-command) `touch /tmp/gantry-pwned-build-command-bt` ; touch /tmp/gantry-pwned-build-command-semi | tee /tmp/gantry-pwned-build-command-pipe && touch /tmp/gantry-pwned-build-command-and > /tmp/gantry-pwned-build-command-gt 'q' $HOME ${HOME}",
    );
    expect(m.env.SUBST).toBe('$(touch /tmp/gantry-pwned-env-subst)');
    expect(m.env.TICKS).toBe('`touch /tmp/gantry-pwned-env-ticks`');
    expect(m.env.DEFAULTED).toBe('$(touch /tmp/gantry-pwned-env-default)');
    expect(m.persist).toEqual(['data/$(touch /tmp/gantry-pwned-persist)', 'uploads`touch /tmp/gantry-pwned-persist-bt`;x|y&&z>w']);
    expect(staging.manifest.hooks!.pre_deploy).toContain('$(touch /tmp/gantry-pwned-pre-deploy-staging)');

    await new Promise((r) => setTimeout(r, 200));
    expect(markers()).toEqual([]);
    expect(existsSync('/tmp/gantry-pwned-build-command')).toBe(false);
  });
});

describe('many-node strategy settings (issue 15.2)', () => {
  it('batch and max_failed take a count or a percent; a bad percent names the path', async () => {
    const { validateManifest } = await import('../../src/manifest/index.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'gantry-nodes-')), 'gantry.yaml');
    writeFileSync(file, 'app: a\nrun: { command: x }\nstrategy: { batch: "25%", max_failed: 2, parallel: 4, node_timeout: 30s }\ntargets: { t: { type: process } }\n');
    const ok = validateManifest(file, {});
    expect(ok.problems).toEqual([]);
    expect(ok.manifest!.manifest.strategy).toMatchObject({ batch: '25%', max_failed: 2, parallel: 4, node_timeout: 30_000 });
    writeFileSync(file, 'app: a\nrun: { command: x }\nstrategy: { batch: "250%" }\ntargets: { t: { type: process } }\n');
    const bad = validateManifest(file, {});
    expect(bad.problems[0]).toMatchObject({ path: 'strategy.batch', line: 3, message: expect.stringMatching(/percent/) });
  });
});
