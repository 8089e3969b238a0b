/**
 * Issue 20, point 6 on both targets: a rollback says what it reverts (code, env
 * keys, secret versions with when they were set), and --keep-secrets keeps a
 * rotated secret rotated.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, setSecret } from '../helpers/cli.js';
import { appsCleanedAfterAll, baseImageProblem } from '../helpers/docker.js';
import { getJson } from '../helpers/http.js';

const apps = appsCleanedAfterAll();

const sha = (v: string): string => createHash('sha256').update(v).digest('hex');

for (const type of ['process', 'docker'] as const) {
  const skip = type === 'docker' ? baseImageProblem : undefined;
  const itT = (name: string, fn: () => Promise<void>) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, 240_000));

  describe(`rollback on ${type} says what it reverts (issue 20, point 6)`, () => {
    itT('code, env keys and secret versions going back; --keep-secrets keeps the rotated one', async () => {
      const dir = copyExample('hello-node');
      const app = `d2b-rb-${type}-${process.pid}`;
      apps.push({ dir, app, docker: type === 'docker' });
      writeFileSync(
        join(dir, 'gantry.yaml'),
        [`app: ${app}`, 'run: { command: node server.js, instances: 1, port: 3000 }', 'health: { path: /health, interval: 200ms, start_period: 15s }', 'env: { HASH_SECRET: API_TOKEN }', 'secrets: [API_TOKEN]', 'strategy: { type: rolling, watch: 0s }', 'targets:', `  t: { type: ${type} }`].join('\n'),
      );
      expect((await setSecret(dir, 'API_TOKEN', 'old-token')).code).toBe(0);
      const d1 = await gantry(['deploy', '--json'], { cwd: dir });
      expect(d1.code, d1.stderr).toBe(0);
      // Rotate the secret and add an env key: v2.
      const rotated = JSON.parse((await setSecret(dir, 'API_TOKEN', 'new-token')).stdout);
      const d2 = await gantry(['env', 'set', 'LOG_LEVEL=debug', '--json'], { cwd: dir });
      expect(d2.code, d2.stderr).toBe(0);
      expect(d2.json.deploy.version).toBe('v2');
      expect((await getJson(`${d2.json.deploy.url}/secret-sha256`)).sha256).toBe(sha('new-token'));

      const back = await gantry(['rollback', 'v1', '--json'], { cwd: dir });
      expect(back.code, back.stderr).toBe(0);
      expect(back.json.reverts.code).toMatchObject({ from: { version: 'v2' }, to: { version: 'v1' }, same_code: true });
      expect(back.json.reverts.env).toEqual([{ name: 'LOG_LEVEL', change: 'removed' }]);
      expect(back.json.reverts.secrets).toHaveLength(1);
      expect(back.json.reverts.secrets[0]).toMatchObject({ name: 'API_TOKEN', from: rotated.version });
      expect(back.json.reverts.secrets[0].to).not.toBe(rotated.version);
      expect(back.json.reverts.secrets[0].to_set_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(JSON.stringify(back.json)).not.toContain('token');
      expect((await getJson(`${back.json.url}/secret-sha256`)).sha256).toBe(sha('old-token'));

      // The terminal says it too, with the way to keep the rotated value.
      const fwd = await gantry(['rollback', 'v2'], { cwd: dir });
      expect(fwd.code, fwd.stderr).toBe(0);
      expect(fwd.stdout).toMatch(/reverted:\n\s+code: v1 → v2, same code\n\s+env: LOG_LEVEL added\n\s+secret API_TOKEN: back to version/);

      const keep = await gantry(['rollback', 'v1', '--keep-secrets', '--json'], { cwd: dir });
      expect(keep.code, keep.stderr).toBe(0);
      expect(keep.json.reverts.secrets[0]).toMatchObject({ name: 'API_TOKEN', kept: true, from: rotated.version });
      expect(keep.json.reverts.env).toEqual([{ name: 'LOG_LEVEL', change: 'removed' }]);
      expect(keep.json.version).toBe('v3');
      const served = await getJson(`${keep.json.url}/secret-sha256`);
      expect(served.sha256).toBe(sha('new-token'));
    });
  });
}
