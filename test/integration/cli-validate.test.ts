/** `gantry validate` through the real CLI on the broken manifests in test/fixtures: exit 2, exact path, line and a hint. */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { gantry, ROOT } from '../helpers/cli.js';

const FIX = join(ROOT, 'test/fixtures/manifests');

const cases: Array<{ file: string; path: string; line: number; hint: RegExp; args?: string[] }> = [
  { file: 'bad-unknown-top-key.yaml', path: 'strategie', line: 4, hint: /did you mean "strategy"/ },
  { file: 'bad-unknown-nested-key.yaml', path: 'run.instnces', line: 4, hint: /did you mean "instances"/ },
  { file: 'bad-wrong-type.yaml', path: 'run.instances', line: 4, hint: /instances/ },
  { file: 'bad-duration.yaml', path: 'health.interval', line: 4, hint: /30s/ },
  { file: 'bad-missing-app.yaml', path: 'app', line: 2, hint: /add "app:"/ },
  { file: 'bad-app-name.yaml', path: 'app', line: 1, hint: /did you mean "my-app"/ },
  { file: 'bad-target-type.yaml', path: 'targets.box.type', line: 6, hint: /known target types/ },
  { file: 'bad-missing-var.yaml', path: 'env.DATABASE_HOST', line: 6, hint: /export GANTRY_TEST_UNSET_DB_HOST=/ },
  { file: 'bad-yaml-syntax.yaml', path: 'run.port', line: 5, hint: /indent/ },
  { file: 'bad-canary-steps.yaml', path: 'strategy.steps[2]', line: 4, hint: /end with 100/ },
  { file: 'bad-persist-dotdot.yaml', path: 'persist[1]', line: 4, hint: /inside the app directory/ },
  { file: 'bad-unknown-env.yaml', path: 'environments', line: 0, hint: /did you mean|known/, args: ['--env', 'prodution'] },
];

describe('gantry validate on broken manifests', () => {
  for (const c of cases) {
    it(`${c.file}: ${c.path}`, async () => {
      const r = await gantry(['validate', '-f', join(FIX, c.file), '--json', ...(c.args ?? [])], { cwd: FIX, env: { GANTRY_TEST_UNSET_DB_HOST: undefined } });
      expect(r.code).toBe(2);
      expect(r.json.valid).toBe(false);
      const p = r.json.problems.find((x: any) => x.path === c.path);
      expect(p, JSON.stringify(r.json.problems)).toBeDefined();
      if (c.line) expect(p.line).toBe(c.line);
      expect(p.file).toContain(c.file);
      expect(p.hint).toMatch(c.hint);
      const human = await gantry(['validate', '-f', join(FIX, c.file), ...(c.args ?? [])], { cwd: FIX, env: { GANTRY_TEST_UNSET_DB_HOST: undefined } });
      expect(human.code).toBe(2);
      expect(human.stdout).toContain(`${c.file}:${p.line}:${p.column} ${c.path}:`);
    });
  }

  it('a valid manifest exits 0 and deploy of an invalid one exits 2 and changes nothing', async () => {
    for (const ex of ['hello-node', 'hello-python']) {
      const ok = await gantry(['validate', '-f', join(ROOT, 'examples', ex, 'gantry.yaml'), '--json'], { cwd: FIX });
      expect(ok.json.problems).toEqual([]);
      expect(ok.code).toBe(0);
    }
    const d = await gantry(['deploy', '-f', join(FIX, 'bad-wrong-type.yaml'), '--json'], { cwd: FIX });
    expect(d.code).toBe(2);
    expect(d.json.error.code).toBe('MANIFEST_INVALID');
    const { existsSync } = await import('node:fs');
    expect(existsSync(join(FIX, '.gantry'))).toBe(false);
  });
});
