/**
 * Issue 18, CLI remote mode: with GANTRY_SERVER and GANTRY_TOKEN, deploy, status,
 * logs (and logs -f over SSE) and rollback run on a real `gantry server` with the
 * same output and exit codes as the local CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, spawnGantry } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, startServer, stopServer, type ServerProc } from '../helpers/server.js';

const APP = 'srvremote-hello';
let srv: ServerProc;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = copyExample('hello-node');
  writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
  srv = await startServer({ args: ['--log-level', 'warn'] });
  const admin = await makeKey(srv.dataDir, 'admin');
  await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'rem' } });
  expect((await api(srv.url, 'POST', '/api/v1/projects/rem/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBe(201);
  const deployer = await api(srv.url, 'POST', '/api/v1/keys', { token: admin, body: { project: 'rem', role: 'deployer', name: 'cli' } });
  env = { GANTRY_SERVER: srv.url, GANTRY_TOKEN: deployer.body.token };
});

afterAll(async () => {
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

describe('CLI remote mode', () => {
  it('deploy, status, logs and rollback through the server: the local CLI\'s output and exit codes', { timeout: 180_000 }, async () => {
    const first = await gantry(['deploy', '--json'], { cwd: dir, env });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.json).toMatchObject({ app: APP, target: 'local', kind: 'deploy', status: 'succeeded', release: expect.stringMatching(/^\d{8}T/), url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:/), duration_ms: expect.any(Number) });
    // Nothing was deployed here: no local state beside the manifest.
    expect((await import('node:fs')).existsSync(join(dir, '.gantry', 'state.db'))).toBe(false);

    const second = await gantry(['deploy', '--force'], { cwd: dir, env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`✓ deploy of ${APP} release (?:v\\d+ \\()?\\S+?\\)? to local succeeded in \\d+\\.\\ds`));
    expect(second.stdout).toContain(`url: ${first.json.url}`);
    expect(second.stderr).toMatch(/queued as deployment dep_/);
    expect(second.stderr).toMatch(/info route traffic to /);
    const secondRelease = /release (?:v\d+ \()?([^\s)]+)\)? to local/.exec(second.stdout)![1]!;

    const st = await gantry(['status', '--json'], { cwd: dir, env });
    expect(st.code).toBe(0);
    expect(st.json.targets[0]).toMatchObject({ target: 'local', state: 'running', release: secondRelease });
    const human = await gantry(['status'], { cwd: dir, env });
    expect(human.stdout).toContain(`${APP} on local (process): running, release ${secondRelease}`);

    const logs = await gantry(['logs', '-n', '5', '--json'], { cwd: dir, env });
    expect(logs.code).toBe(0);
    expect(logs.json.some((l: any) => /listening on/.test(l.text))).toBe(true);
    const plain = await gantry(['logs', '-n', '5'], { cwd: dir, env });
    expect(plain.stdout).toMatch(/hello-node release \S+ instance \S+ listening on/);

    // logs -f: lines arrive over SSE; Ctrl-C ends it cleanly.
    const follow = spawnGantry(['logs', '-f', '-n', '2'], { cwd: dir, env });
    let out = '';
    follow.child.stdout!.on('data', (d) => (out += d));
    for (let i = 0; i < 100 && !/listening on/.test(out); i++) await new Promise((r) => setTimeout(r, 150));
    expect(out).toMatch(/listening on/);
    follow.child.kill('SIGINT');
    expect((await follow.done).code).toBe(0);

    const rb = await gantry(['rollback', '--json'], { cwd: dir, env });
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(rb.json).toMatchObject({ kind: 'rollback', status: 'succeeded', release: first.json.release });
    expect((await getJson(first.json.url + '/')).release).toBe(first.json.release);

    // stop, start and restart too.
    for (const [cmd, state] of [['stop', 'stopped'], ['start', 'running'], ['restart', 'running']] as const) {
      const r = await gantry([cmd, '--json'], { cwd: dir, env });
      expect(r.code, `${cmd}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.json).toMatchObject({ kind: cmd, status: 'succeeded' });
      expect((await gantry(['status', '--json'], { cwd: dir, env })).json.targets[0].state).toBe(state);
    }

    // A failure keeps the local CLI's exit code and error code.
    const missing = await gantry(['rollback', '20200101T000000Z-abcd1234', '--json'], { cwd: dir, env });
    expect(missing.code).toBe(1);
    expect(missing.json.error.code).toBe('RELEASE_NOT_FOUND');
  });

  it('refuses clearly: no token (exit 2), a bad token, a command with no remote form yet', async () => {
    const noToken = await gantry(['status'], { cwd: dir, env: { GANTRY_SERVER: srv.url, GANTRY_TOKEN: '' } });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/GANTRY_TOKEN/);
    const bad = await gantry(['status'], { cwd: dir, env: { ...env, GANTRY_TOKEN: `gk_key_aaaaaaaaaaaaaaaa_${'x'.repeat(43)}` } });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/API key is not valid/);
    const other = await gantry(['releases'], { cwd: dir, env });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/does not work against a server yet/);
    // --server on the command line does the same as GANTRY_SERVER.
    const flag = await gantry(['status', '--json', '--server', srv.url], { cwd: dir, env: { GANTRY_TOKEN: env.GANTRY_TOKEN! } });
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.json.app).toBe(APP);
  });
});
