/**
 * Issue 20, points 4 and 5 on both targets: `gantry env set/unset/list`, each
 * change a release through the same gates that reuses the artifact (process: hard
 * links; docker: the same image, labelled with the git commit).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry } from '../helpers/cli.js';
import { appsCleanedAfterAll, baseImageProblem, docker } from '../helpers/docker.js';
import { getJson } from '../helpers/http.js';

const apps = appsCleanedAfterAll();

const gitEnv = { GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.test', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.test' };
const git = (dir: string, ...args: string[]): string => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...gitEnv } }).trim();

function app(type: 'process' | 'docker'): { dir: string; app: string } {
  const dir = copyExample('hello-node');
  const name = `d2b-env-${type}-${process.pid}`;
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [`app: ${name}`, 'run: { command: node server.js, instances: 1, port: 3000 }', 'health: { path: /health, interval: 200ms, retries: 2, start_period: 15s }', 'env: { GREETING: one }', 'strategy: { type: rolling, watch: 1s }', 'targets:', `  t: { type: ${type} }`].join('\n'),
  );
  writeFileSync(join(dir, '.gitignore'), '.gantry/\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  apps.push({ dir, app: name, docker: type === 'docker' });
  return { dir, app: name };
}

for (const type of ['process', 'docker'] as const) {
  const skip = type === 'docker' ? baseImageProblem : undefined;
  const itT = (name: string, fn: () => Promise<void>) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, 180_000));

  describe(`gantry env on ${type} (issue 20, point 5)`, () => {
    itT('set, list, unset: each change a release reusing the artifact; a change that fails its gates is not kept', async () => {
      const { dir, app: name } = app(type);
      const d1 = await gantry(['deploy', '--json'], { cwd: dir });
      expect(d1.code, d1.stderr).toBe(0);

      const set = await gantry(['env', 'set', 'GREETING=two', 'LOG_LEVEL=debug', '--json'], { cwd: dir });
      expect(set.code, set.stderr).toBe(0);
      expect(set.json).toMatchObject({ env: 'default', kept: true, changed: [{ name: 'GREETING', action: 'set' }, { name: 'LOG_LEVEL', action: 'set' }], deploy: { status: 'succeeded', version: 'v2' } });
      expect((await getJson(`${set.json.deploy.url}/`)).message).toBe('two');
      const events = (await gantry(['events', '-n', '60', '--json'], { cwd: dir })).json.map((e: any) => e.message).join('\n');
      expect(events).toMatch(/same code and build as release v1 .*its artifact is reused \(no rebuild\)/);

      const list = await gantry(['env', 'list', '--json'], { cwd: dir });
      expect(list.json.vars).toEqual([
        { name: 'GREETING', value: 'two', source: 'gantry env set', overrides_manifest: true },
        { name: 'LOG_LEVEL', value: 'debug', source: 'gantry env set', overrides_manifest: false },
      ]);

      // The same values again: nothing to do, no release.
      const again = await gantry(['env', 'set', 'GREETING=two', '--json'], { cwd: dir });
      expect(again.json).toMatchObject({ changed: [], deploy: null });

      // A value that fails the health gate: rolled back, exit 1, the stored values stay as they were.
      const bad = await gantry(['env', 'set', 'UNHEALTHY_AFTER_MS=1', '--json'], { cwd: dir });
      expect(bad.code).toBe(1);
      expect(bad.json).toMatchObject({ kept: false });
      expect(['failed', 'rolled_back']).toContain(bad.json.deploy.status);
      expect((await gantry(['env', 'list', '--json'], { cwd: dir })).json.vars.map((v: any) => v.name)).toEqual(['GREETING', 'LOG_LEVEL']);

      const unset = await gantry(['env', 'unset', 'GREETING', '--json'], { cwd: dir });
      expect(unset.code, unset.stderr).toBe(0);
      expect((await getJson(`${unset.json.deploy.url}/`)).message).toBe('one');
      const bad2 = await gantry(['env', 'set', 'PORT=1', '--json'], { cwd: dir });
      expect(bad2.code).toBe(2);

      if (type === 'docker') {
        // Same image under each release's tag, labelled with the commit it was built from.
        const rels = (await gantry(['releases', '--json'], { cwd: dir })).json;
        const ids = await Promise.all(rels.map(async (r: any) => (await docker.getImage(`gantry/${name}:${r.release}`).inspect()).Id));
        expect(new Set(ids).size).toBe(1);
        const img = await docker.getImage(`gantry/${name}:${d1.json.release}`).inspect();
        expect(img.Config.Labels['dev.gantry.commit']).toBe(git(dir, 'rev-parse', 'HEAD'));
      }
    });
  });
}
