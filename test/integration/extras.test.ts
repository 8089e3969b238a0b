/**
 * Smaller acceptance points: tcp and command health checks, `logs -f`,
 * exclusive deploys, and the docker details (.dockerignore, generated
 * Dockerfile in the plan, stop/start, resources, bind volumes, registry
 * credentials from Gantry's secret store).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, copyExample, gantry, killAgents, setSecret } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp, docker, registryProblem } from '../helpers/docker.js';
import { get, getJson, pollLoop } from '../helpers/http.js';

const dirs: Array<{ dir: string; app?: string }> = [];
afterAll(async () => {
  for (const { dir, app } of dirs) {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
    if (app && !baseImageProblem) await cleanupApp(app);
  }
});

function app(lines: string[], opts: { app?: string } = {}): string {
  const dir = copyExample('hello-node');
  dirs.push({ dir, app: opts.app });
  writeFileSync(join(dir, 'gantry.yaml'), [`app: ${opts.app ?? 'hello-node'}`, ...lines].join('\n'));
  return dir;
}

describe('health check kinds', () => {
  it('tcp and command health checks gate the switch; a failing command check rolls back', async () => {
    const dir = app(['run: { command: node server.js }', 'health: { type: tcp, start_period: 10s }', 'strategy: { watch: 0s }']);
    const tcp = await gantry(['deploy', '--json'], { cwd: dir });
    expect(tcp.code, tcp.stdout).toBe(0);
    const ev = (await gantry(['events', tcp.json.id, '--json'], { cwd: dir })).json;
    expect(ev.some((e: any) => /healthy after \d+ms \(connected to \d+\)/.test(e.message))).toBe(true);

    writeFileSync(join(dir, 'gantry.yaml'), ['app: hello-node', 'run: { command: node server.js }', 'health: { command: "node -e \\"fetch(\'http://127.0.0.1:\'+process.env.PORT+\'/health\').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))\\"", start_period: 10s }', 'env: { V: "2" }', 'strategy: { watch: 0s }'].join('\n'));
    const cmd = await gantry(['deploy', '--json'], { cwd: dir });
    expect(cmd.code, cmd.stdout).toBe(0);
    writeFileSync(join(dir, 'gantry.yaml'), ['app: hello-node', 'run: { command: node server.js }', 'health: { command: "echo nope; exit 3", start_period: 1s, retries: 1, interval: 200ms }', 'env: { V: "3" }', 'strategy: { watch: 0s }'].join('\n'));
    const bad = await gantry(['deploy', '--json'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.json.status).toBe('rolled_back');
    expect(bad.json.reason).toMatch(/command failed: nope/);
    expect((await getJson(tcp.json.url + '/')).release).toBe(cmd.json.release);
  });
});

/**
 * `logs -f -n 1` follows once it has printed its line of backlog: returns how much it printed by then, so a test reads
 * only what was streamed after. (A fixed wait raced the follower's own start: the instances it finds at its start it
 * follows from their end, so a restart done before then was missed.)
 */
async function untilFollowing(output: () => string): Promise<number> {
  for (let i = 0; i < 300 && !output().includes('\n'); i++) await new Promise((r) => setTimeout(r, 100));
  expect(output(), 'logs -f printed no backlog').toContain('\n');
  return output().length;
}

describe('logs -f and exclusive', () => {
  it('logs -f streams new lines as the app prints them', async () => {
    const dir = app(['run: { command: "node server.js" }', 'strategy: { watch: 0s }']);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    const follower = spawn(process.execPath, [BIN, 'logs', '-f', '-n', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    follower.stdout.on('data', (x) => (seen += x));
    const backlog = await untilFollowing(() => seen);
    await gantry(['restart'], { cwd: dir });
    const streamed = (): string => seen.slice(backlog);
    for (let i = 0; i < 50 && !streamed().includes('listening on'); i++) await new Promise((r) => setTimeout(r, 200));
    follower.kill('SIGINT');
    expect(streamed()).toContain('listening on');
    expect(streamed()).toContain(d.json.release);
  });

  it('exclusive: the old release stops before the new one starts, the output says so, no request fails', async () => {
    const dir = app(['run: { command: node server.js, instances: 2 }', 'exclusive: true', 'env: { GREETING: one }', 'strategy: { type: rolling, watch: 0s }']);
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    writeFileSync(join(dir, 'gantry.yaml'), ['app: hello-node', 'run: { command: node server.js, instances: 2 }', 'exclusive: true', 'env: { GREETING: two }', 'strategy: { type: rolling, watch: 0s }'].join('\n'));
    const loop = pollLoop(first.json.url + '/');
    const d = await gantry(['deploy'], { cwd: dir });
    const report = await loop.stop();
    expect(d.code).toBe(0);
    expect(d.stderr).toMatch(/exclusive: the old release stops \(after draining\) before the new one starts/);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    const last = (await gantry(['history', '--json'], { cwd: dir })).json[0];
    const ev = (await gantry(['events', last.id, '--json'], { cwd: dir })).json.map((e: any) => e.message as string);
    const lastStop = ev.reduce((acc: number, m: string, i: number) => (m.startsWith('stop instance') ? i : acc), -1);
    const firstStart = ev.findIndex((m: string) => m.startsWith('start instance'));
    expect(lastStop).toBeGreaterThan(-1);
    expect(firstStart).toBeGreaterThan(lastStop);
  });
});

const skip = baseImageProblem;
const itDocker = (name: string, fn: () => Promise<void>) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, 180_000));

describe('docker details', () => {
  itDocker('.dockerignore is honoured; plan shows the generated Dockerfile; resources and bind volumes apply; stop/start work', async () => {
    const name = `dkx-${process.pid}`;
    const dir = app(['run: { command: node server.js, port: 3000 }', 'strategy: { watch: 0s }', 'targets:', '  box: { type: docker, resources: { memory: 256Mi, cpus: 0.5 }, volumes: ["./conf:/app/conf:ro"] }'], { app: name });
    writeFileSync(join(dir, 'secret-notes.txt'), 'do not ship');
    writeFileSync(join(dir, '.dockerignore'), 'secret-notes.txt\n');
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf/app.conf'), 'x=1');
    const plan = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan.json.build.generatedDockerfile).toMatch(/^FROM node:20-bookworm-slim$/m);
    expect(plan.json.build.generatedDockerfile).toContain('CMD ["/bin/sh","-c","node server.js"]');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const [c] = await docker.listContainers({ filters: { label: [`dev.gantry.app=${name}`, 'dev.gantry.role=app'] } });
    const info = await docker.getContainer(c!.Id).inspect();
    expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(info.HostConfig.NanoCpus).toBe(5e8);
    expect(info.Mounts.some((m: any) => m.Destination === '/app/conf' && m.RW === false)).toBe(true);
    const ls = async (path: string): Promise<number> => {
      const exec = await docker.getContainer(c!.Id).exec({ Cmd: ['test', '-e', path] });
      await new Promise<void>((res) => exec.start({}, (_e: unknown, s: any) => (s ? (s.on('end', () => res()), s.resume()) : res())));
      for (let i = 0; i < 50; i++) {
        const st = await exec.inspect();
        if (!st.Running && st.ExitCode !== null) return st.ExitCode as number;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`exec test -e ${path} did not finish`);
    };
    expect(await ls('/app/server.js')).toBe(0);
    expect(await ls('/app/secret-notes.txt')).toBe(1);
    expect(await ls('/app/conf/app.conf')).toBe(0);

    const stop = await gantry(['stop', '--json'], { cwd: dir });
    expect(stop.code).toBe(0);
    expect(await docker.listContainers({ filters: { label: [`dev.gantry.app=${name}`, 'dev.gantry.role=app'] } })).toHaveLength(0);
    const start = await gantry(['start', '--json'], { cwd: dir });
    expect(start.code, start.stdout).toBe(0);
    expect((await getJson(d.json.url + '/')).release).toBe(d.json.release);

    writeFileSync(join(dir, 'gantry.yaml'), [`app: ${name}`, 'run: { command: node server.js, port: 3000 }', 'env: { V: "2" }', 'strategy: { watch: 0s }', 'targets:', '  box: { type: docker, volumes: ["./missing:/app/x"] }'].join('\n'));
    const missing = await gantry(['deploy', '--json'], { cwd: dir });
    expect(missing.code).not.toBe(0);
    expect(JSON.stringify(missing.json)).toMatch(/missing does not exist/);
    expect((await get(d.json.url + '/')).status).toBe(200);
  });

  itDocker('logs -f on docker follows containers started after it began (a restart)', async () => {
    const name = `dklogs-${process.pid}`;
    const dir = app(['run: { command: node server.js, port: 3000 }', 'strategy: { watch: 0s }', 'targets:', '  box: { type: docker }'], { app: name });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout).toBe(0);
    const follower = spawn(process.execPath, [BIN, 'logs', '-f', '-n', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    follower.stdout.on('data', (x) => (seen += x));
    const backlog = await untilFollowing(() => seen);
    const r = await gantry(['restart', '--json'], { cwd: dir });
    expect(r.code, r.stdout).toBe(0);
    const streamed = (): string => seen.slice(backlog);
    for (let i = 0; i < 50 && !streamed().includes('listening on'); i++) await new Promise((res) => setTimeout(res, 200));
    follower.kill('SIGINT');
    expect(streamed()).toContain('listening on');
  });

  (registryProblem ? it.skip(`registry credentials (skipped: ${registryProblem})`, () => undefined) : itDocker)('push uses credentials from the secret store; bad credentials are a clear error', async () => {
    const bcrypt = (await import('bcryptjs')).default;
    const work = mkdtempSync(join(tmpdir(), 'gantry-authreg-'));
    writeFileSync(join(work, 'htpasswd'), `pusher:${bcrypt.hashSync('right-password', 10)}\n`);
    const { freePort } = await import('../../src/agent/free-port.js');
    const port = await freePort();
    writeFileSync(join(work, 'config.yml'), `version: 0.1\nstorage: { filesystem: { rootdirectory: ${work}/data } }\nhttp: { addr: 127.0.0.1:${port} }\nauth: { htpasswd: { realm: gantry-test, path: ${work}/htpasswd } }\n`);
    const reg = spawn('docker-registry', ['serve', join(work, 'config.yml')], { stdio: 'ignore' });
    try {
      // Until the registry asks for credentials (bounded; it may start slowly on a loaded machine), or it exited.
      let answered = 0;
      for (let i = 0; i < 300 && answered !== 401 && reg.exitCode === null; i++) {
        answered = await fetch(`http://127.0.0.1:${port}/v2/`).then((r) => r.status).catch(() => 0);
        if (answered !== 401) await new Promise((r) => setTimeout(r, 100));
      }
      expect(answered, `docker-registry on port ${port} did not ask for credentials (exit code ${reg.exitCode})`).toBe(401);
      const name = `dkauth-${process.pid}`;
      const dir = app(['run: { command: node server.js, port: 3000 }', 'strategy: { watch: 0s }', 'targets:', `  box: { type: docker, registry: "127.0.0.1:${port}/team" }`], { app: name });
      const d = await gantry(['deploy', '--json'], { cwd: dir });
      expect(d.code, d.stdout).toBe(0);
      await setSecret(dir, 'REGISTRY_USERNAME', 'pusher');
      await setSecret(dir, 'REGISTRY_PASSWORD', 'wrong-password');
      const bad = await gantry(['push', '--json'], { cwd: dir });
      expect(bad.code).toBe(1);
      expect(bad.json.error.message).toMatch(/unauthorized|authentication required|denied/i);
      expect(bad.json.error.hint).toMatch(/REGISTRY_USERNAME/);
      expect(bad.stdout).not.toContain('wrong-password');
      await setSecret(dir, 'REGISTRY_PASSWORD', 'right-password');
      const ok = await gantry(['push', '--json'], { cwd: dir });
      expect(ok.code, ok.stdout).toBe(0);
      expect(ok.json.registry_image).toBe(`127.0.0.1:${port}/team/${name}:${d.json.release}`);
    } finally {
      reg.kill('SIGTERM');
    }
  });
});
