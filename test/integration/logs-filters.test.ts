/**
 * Issue 20, point 7 on both targets: `gantry logs --timestamps / --since / --grep /
 * --instance / --access`, and Gantry's supervisor lines told apart from the app's.
 */
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry } from '../helpers/cli.js';
import { appsCleanedAfterAll, baseImageProblem } from '../helpers/docker.js';

const apps = appsCleanedAfterAll();

for (const type of ['process', 'docker'] as const) {
  const skip = type === 'docker' ? baseImageProblem : undefined;
  const itT = (name: string, fn: () => Promise<void>) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, 180_000));

  describe(`gantry logs on ${type} (issue 20, point 7)`, () => {
    itT('timestamps, since, grep, instance, the access log; supervisor lines marked', async () => {
      const dir = copyExample('hello-node');
      const app = `d2b-logs-${type}-${process.pid}`;
      apps.push({ dir, app, docker: type === 'docker' });
      writeFileSync(join(dir, 'gantry.yaml'), [`app: ${app}`, 'run: { command: node server.js, instances: 2, port: 3000 }', 'health: { path: /health, interval: 200ms, start_period: 15s }', 'strategy: { type: rolling, watch: 0s }', 'targets:', `  t: { type: ${type} }`].join('\n'));
      const d = await gantry(['deploy', '--json'], { cwd: dir });
      expect(d.code, d.stderr).toBe(0);
      await fetch(`${d.json.url}/?token=not-in-the-log`).then((r) => r.text());
      await fetch(`${d.json.url}/missing-page`).then((r) => r.text());

      // Text: no time unless --timestamps, then an ISO time first.
      const plain = await gantry(['logs', '-n', '50'], { cwd: dir });
      expect(plain.stdout).toMatch(/listening on/);
      expect(plain.stdout).not.toMatch(/^\d{4}-\d\d-\d\dT/m);
      const stamped = await gantry(['logs', '-n', '50', '--timestamps'], { cwd: dir });
      expect(stamped.stdout.trim().split('\n').every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /.test(l))).toBe(true);
      if (type === 'process') {
        // The supervisor's own lines are Gantry's, not the app's.
        expect(plain.stdout).toMatch(/\[gantry\] started pid \d+/);
        expect((await gantry(['logs', '--json'], { cwd: dir })).json.some((l: any) => l.stream === 'sys' && /^started pid/.test(l.text))).toBe(true);
      }

      const grep = await gantry(['logs', '--grep', 'listen(ing)? on', '--json'], { cwd: dir });
      expect(grep.json).toHaveLength(2);
      expect(grep.json.every((l: any) => l.text.includes('listening on'))).toBe(true);
      const badGrep = await gantry(['logs', '--grep', '(', '--json'], { cwd: dir });
      expect(badGrep.code).toBe(2);

      const ids = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances.map((i: any) => i.id);
      const one = await gantry(['logs', '--instance', ids[0], '--json'], { cwd: dir });
      expect(one.json.length).toBeGreaterThan(0);
      expect(one.json.every((l: any) => l.instance === ids[0])).toBe(true);
      expect((await gantry(['logs', '--instance', 'no-such', '--json'], { cwd: dir })).code).toBe(2);

      await new Promise((r) => setTimeout(r, 2500));
      expect((await gantry(['logs', '--since', '2s', '--json'], { cwd: dir })).json).toEqual([]);
      expect((await gantry(['logs', '--since', '5m', '--grep', 'listening', '--json'], { cwd: dir })).json).toHaveLength(2);
      expect((await gantry(['logs', '--since', 'yesterday-ish', '--json'], { cwd: dir })).code).toBe(2);

      // The proxy's access log: one line per request, the path without its query.
      const access = await gantry(['logs', '--access', '--json'], { cwd: dir });
      const paths = access.json.map((l: any) => l.request.path);
      expect(paths).toEqual(expect.arrayContaining(['/', '/missing-page']));
      expect(JSON.stringify(access.json)).not.toContain('not-in-the-log');
      expect(access.json.every((l: any) => l.stream === 'access' && ids.includes(l.instance) && l.request.status === 200)).toBe(true);
      const accessText = await gantry(['logs', '--access', '--grep', 'missing'], { cwd: dir });
      expect(accessText.stdout.trim()).toMatch(/^\S+ GET \/missing-page 200 [\d.]+ms$/);
    });
  });
}
