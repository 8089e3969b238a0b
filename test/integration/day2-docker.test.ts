/**
 * Issue 20 (day-2 operations) on the docker target: `gantry exec` (docker exec into a
 * running container, or a one-off container), `gantry destroy` leaving no container, image
 * or volume with the app's labels, maintenance mode, status usage figures, and a changed
 * access port taking effect on the next deploy without a failed request.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { BIN, copyExample, gantry, killAgents, setSecret, spawnGantry, type CliResult } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp, docker, removeAppVolumes } from '../helpers/docker.js';
import { get, pollLoop } from '../helpers/http.js';

const skip = baseImageProblem;
const itDocker = (name: string, fn: () => Promise<void>, timeout = 240_000) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, timeout));

const apps: Array<{ dir: string; app: string }> = [];
afterAll(async () => {
  for (const { dir, app } of apps) {
    await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
    killAgents(dir);
    if (!skip) {
      await cleanupApp(app);
      await removeAppVolumes(app);
    }
  }
});

let n = 0;
function dockerApp(opts: { extra?: string; target?: string; instances?: number } = {}): { dir: string; app: string; write: (o?: typeof opts) => void } {
  const dir = copyExample('hello-node');
  const app = `d2d-${process.pid}-${++n}`;
  const write = (o: typeof opts = opts): void =>
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [`app: ${app}`, `run: { command: "node server.js", instances: ${o.instances ?? 1}, port: 3000 }`, 'health: { path: /health, interval: 300ms, start_period: 20s }', 'env: { GREETING: hi }', 'strategy: { type: rolling, watch: 0s }', o.extra ?? '', 'targets:', `  box: { type: docker${o.target ?? ''} }`].join('\n'),
    );
  write();
  apps.push({ dir, app });
  return { dir, app, write };
}

const labelled = async (app: string) => ({
  containers: (await docker.listContainers({ all: true, filters: { label: [`dev.gantry.app=${app}`] } })).length,
  images: (await docker.listImages({ all: true, filters: { label: [`dev.gantry.app=${app}`] } })).length,
  volumes: ((await docker.listVolumes()).Volumes ?? []).filter((v) => v.Name.startsWith(`gantry-${app}-`) || v.Labels?.['dev.gantry.app'] === app).length,
});

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('day-2 operations on docker', () => {
  itDocker('exec runs argv in a running container (env, secrets, volume), or in a one-off container when none runs; exit code passes through', async () => {
    const { dir, app } = dockerApp({ extra: 'secrets: [API_TOKEN]\npersist: [data]' });
    const canary = `canary-${Math.random().toString(36).slice(2)}-dk`;
    expect((await setSecret(dir, 'API_TOKEN', canary)).code).toBe(0);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const script = 'require("fs").writeFileSync("data/x.txt","from exec");console.log(JSON.stringify({greeting:process.env.GREETING,release:process.env.GANTRY_RELEASE,token:process.env.API_TOKEN===process.argv[1],arg:process.argv[2],host:require("os").hostname()}));process.exit(5)';
    const r = await gantry(['exec', '--', 'node', '-e', script, canary, '$(id);x'], { cwd: dir });
    expect(r.code, r.stderr).toBe(5);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!);
    const running = await docker.listContainers({ filters: { label: [`dev.gantry.app=${app}`, 'dev.gantry.role=app'] } });
    expect(seen).toMatchObject({ greeting: 'hi', release: d.json.release, token: true, arg: '$(id);x' });
    expect(running.map((c) => c.Id.slice(0, 12))).toContain(seen.host);

    const j = await gantry(['exec', '--json', '--', 'sh', '-c', 'echo $API_TOKEN; echo oops >&2; exit 3'], { cwd: dir });
    expect(j.code).toBe(3);
    expect(j.json).toMatchObject({ exit_code: 3, stderr: 'oops' });
    expect(j.json.stdout).toContain('[redacted:API_TOKEN]');
    expect(j.stdout).not.toContain(canary);

    // On a terminal: a TTY inside the container (script(1) gives the CLI a pseudo-terminal, as a user's shell would).
    const probe = 'console.log("tty:"+Boolean(process.stdin.isTTY)+":"+Boolean(process.stdout.isTTY))';
    const quote = (x: string): string => `'${x.replace(/'/g, `'\\''`)}'`;
    const onTty = execFileSync('script', ['-qec', [process.execPath, BIN, 'exec', '--', 'node', '-e', probe].map(quote).join(' '), '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
    expect(onTty).toContain('tty:true:true');
    expect((await gantry(['exec', '--', 'node', '-e', probe], { cwd: dir })).stdout).toContain('tty:false:false');

    // Scaled to 0: a one-off container of the release's image, with its env, secrets and the same volume.
    expect((await gantry(['scale', '0'], { cwd: dir })).code).toBe(0);
    const once = await gantry(['exec', '--', 'node', '-e', 'console.log(require("fs").readFileSync("data/x.txt","utf8"), process.env.API_TOKEN===process.argv[1])', canary], { cwd: dir });
    expect(once.code, once.stderr).toBe(0);
    expect(once.stdout.trim()).toBe('from exec true');
    expect(await docker.listContainers({ all: true, filters: { label: [`dev.gantry.app=${app}`, 'dev.gantry.role=exec'] } })).toHaveLength(0);
  });

  // The maintenance and status tests look at one deployed app (a docker deploy is an image build and a rollout).
  let served: Promise<{ dir: string; d: CliResult }> | undefined;
  const servedApp = () =>
    (served ??= (async () => {
      const { dir } = dockerApp();
      const d = await gantry(['deploy', '--json'], { cwd: dir });
      expect(d.code, d.stdout + d.stderr).toBe(0);
      return { dir, d };
    })());

  itDocker('maintenance: 503 with Retry-After and an escaped page while the container keeps running; off serves again', async () => {
    const { dir, d } = await servedApp();
    const on = await gantry(['maintenance', 'on', '--message', 'db <upgrade>', '--json'], { cwd: dir });
    expect(on.code, on.stdout + on.stderr).toBe(0);
    const r = await get(d.json.url + '/');
    expect([r.status, r.headers['retry-after']]).toEqual([503, '60']);
    expect(r.body).toContain('db &lt;upgrade&gt;');
    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(st).toMatchObject({ state: 'running', maintenance: { on: true } });
    expect(st.instances[0]).toMatchObject({ state: 'running', healthy: true });
    expect((await gantry(['maintenance', 'off'], { cwd: dir })).code).toBe(0);
    expect((await get(d.json.url + '/')).status).toBe(200);
  });

  itDocker('status shows uptime, restarts, CPU % and RSS of each container', async () => {
    const { dir } = await servedApp();
    await new Promise((res) => setTimeout(res, 1100));
    const i = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances[0];
    expect(i.uptime_s).toBeGreaterThanOrEqual(1);
    expect(i.restarts).toBe(0);
    expect(typeof i.cpu_percent).toBe('number');
    expect(i.rss_bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect((await gantry(['status'], { cwd: dir })).stdout).toMatch(/up \d+s\s+cpu \d+\.\d%\s+rss \d+\.\d MiB/);

    // A release whose container answers its health check only after ~8 s: meanwhile status names it and its phase, never `degraded`.
    const first = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].release;
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace('command: "node server.js"', 'command: "sleep 8 && exec node server.js"'));
    const deploying = spawnGantry(['deploy', '--json'], { cwd: dir, timeoutMs: 200_000 });
    const seen: any[] = [];
    for (let k = 0; k < 400 && deploying.child.exitCode === null; k++) {
      await new Promise((res) => setTimeout(res, 250));
      const t = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
      if (deploying.child.exitCode === null) seen.push(t);
    }
    const done = await deploying.done;
    expect(done.code, done.stdout).toBe(0);
    const during = seen.filter((t) => t.deploying);
    expect(during.length, 'no status call fell inside the rollout').toBeGreaterThan(0);
    expect(during.map((t) => t.state)).not.toContain('degraded');
    const phases = during.filter((t) => t.state === 'deploying').map((t) => t.deploying.phase);
    expect(phases, JSON.stringify(during.map((t) => [t.state, t.deploying]))).toContain('health gate');
    expect(during.find((t) => t.state === 'deploying').deploying).toMatchObject({ kind: 'deploy', release: done.json.release, previous_release: first });
  });

  itDocker('a changed access port takes effect on the next deploy: 0 failed on the old port during it and on the new one after', async () => {
    const a = await freePort();
    const { dir, write } = dockerApp({ target: `, port: ${a}` });
    expect((await gantry(['deploy'], { cwd: dir })).code).toBe(0);
    // Picked only now (a listens, so it is not a): a port found free is closed again, and picked before the first deploy
    // it was free for anything else on the machine to take meanwhile; the deploy that binds it follows at once.
    const b = await freePort();
    const oldLoop = pollLoop(`http://127.0.0.1:${a}/`);
    write({ target: `, port: ${b}` });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    const during = await oldLoop.stop();
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.json.url).toBe(`http://127.0.0.1:${b}`);
    expect(during.failed, during.errors.join('\n')).toBe(0);
    expect(during.ok).toBeGreaterThan(10);
    const newLoop = pollLoop(`http://127.0.0.1:${b}/`);
    await newLoop.until((r) => r.ok + r.failed > 10);
    const after = await newLoop.stop();
    expect(after.failed, after.errors.join('\n')).toBe(0);
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].url).toBe(`http://127.0.0.1:${b}`);
  });

  itDocker('destroy refuses without a terminal unless --yes; then no container, image or volume with the app\'s labels remains', async () => {
    const { dir, app } = dockerApp({ extra: 'persist: [data]' });
    expect((await gantry(['deploy'], { cwd: dir })).code).toBe(0);
    expect((await gantry(['deploy', '--force'], { cwd: dir })).code).toBe(0);
    const before = await labelled(app);
    expect(before.containers).toBeGreaterThan(0);
    expect(before.images).toBeGreaterThan(0);
    expect(before.volumes).toBe(1);

    const refused = await gantry(['destroy'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--yes/);
    expect((await labelled(app)).containers).toBe(before.containers);

    const keep = await gantry(['destroy', '--yes', '--keep-data', '--json'], { cwd: dir });
    expect(keep.code, keep.stdout + keep.stderr).toBe(0);
    expect(await labelled(app)).toEqual({ containers: 0, images: 0, volumes: 1 });

    expect((await gantry(['env', 'set', '--no-deploy', 'FEATURE=on'], { cwd: dir })).code).toBe(0);
    expect((await gantry(['deploy'], { cwd: dir })).code).toBe(0);
    const all = await gantry(['destroy', '--yes', '--json'], { cwd: dir });
    expect(all.code, all.stdout + all.stderr).toBe(0);
    expect(all.json).toMatchObject({ app, target: 'box', destroyed: true });
    expect(await labelled(app)).toEqual({ containers: 0, images: 0, volumes: 0 });
    expect((await gantry(['releases', '--json'], { cwd: dir })).json).toEqual([]);
    // Nothing under .gantry is named after the app (the env values of `gantry env set` went too).
    expect(readdirSync(join(dir, '.gantry'), { recursive: true }).map(String).filter((p) => p.includes(app))).toEqual([]);
  });
});
