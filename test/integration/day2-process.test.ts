/**
 * Issue 20 (day-2 operations) on the process target: `gantry exec`, `gantry destroy`,
 * `gantry maintenance`, status with uptime/CPU/RSS and the phase of a rollout, and a
 * changed access port taking effect on the next deploy without a failed request.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { BIN, copyExample, gantry, killAgents, setSecret, spawnGantry } from '../helpers/cli.js';
import { get, pollLoop } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await gantry(['stop'], { cwd: d });
    killAgents(d);
  }
});

let n = 0;
function app(opts: { extra?: string; run?: string; target?: string; instances?: number } = {}): { dir: string; app: string; write: (o?: typeof opts) => void } {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  const name = `d2p-${process.pid}-${++n}`;
  const write = (o: typeof opts = opts): void =>
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [
        `app: ${name}`,
        `run: { command: ${JSON.stringify(o.run ?? 'node server.js')}, instances: ${o.instances ?? 1} }`,
        'health: { path: /health, interval: 200ms, start_period: 20s }',
        'env: { GREETING: hi }',
        'strategy: { type: rolling, watch: 0s }',
        o.extra ?? '',
        'targets:',
        `  local: { type: process${o.target ?? ''} }`,
      ].join('\n'),
    );
  write();
  return { dir, app: name, write };
}

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

const agentPid = (dir: string, name: string): number => JSON.parse(readFileSync(join(dir, '.gantry', 'apps', name, 'agents', 'local', 'agent.json'), 'utf8')).pid;

describe('gantry exec (process)', () => {
  it("runs argv (never a shell) in the release's directory with its env, secrets and persist paths; its exit code is the CLI's", async () => {
    const { dir, app: name } = app({ extra: 'secrets: [API_TOKEN]\npersist: [data]' });
    const canary = `canary-${Math.random().toString(36).slice(2)}-xyz`;
    expect((await setSecret(dir, 'API_TOKEN', canary)).code).toBe(0);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);

    const script = 'const fs=require("fs");fs.writeFileSync("data/from-exec.txt","kept");console.log(JSON.stringify({cwd:process.cwd(),greeting:process.env.GREETING,release:process.env.GANTRY_RELEASE,token:process.env.API_TOKEN===process.argv[1],arg:process.argv[2]}));process.exit(7)';
    const r = await gantry(['exec', '--', 'node', '-e', script, canary, '$HOME;echo hi'], { cwd: dir });
    expect(r.code, r.stderr).toBe(7);
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(seen).toEqual({ cwd: join(dir, '.gantry', 'apps', name, 'releases', d.json.release), greeting: 'hi', release: d.json.release, token: true, arg: '$HOME;echo hi' });
    // The persist path is the shared one: what the command wrote outlives the release.
    expect(readFileSync(join(dir, '.gantry', 'apps', name, 'shared', 'data', 'from-exec.txt'), 'utf8')).toBe('kept');

    // --json: one document with the output, secret values redacted.
    const j = await gantry(['exec', '--json', '--', 'node', '-e', 'console.log(process.env.API_TOKEN)'], { cwd: dir });
    expect(j.code).toBe(0);
    expect(j.json).toMatchObject({ app: name, release: d.json.release, exit_code: 0 });
    expect(j.json.stdout).toContain('[redacted:API_TOKEN]');
    expect(j.stdout).not.toContain(canary);

    // Beside an instance: its PORT, so the command can talk to it.
    const inst = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances[0];
    const beside = await gantry(['exec', '--instance', inst.id, '--', 'node', '-e', 'fetch("http://127.0.0.1:"+process.env.PORT+"/").then(r=>r.json()).then(b=>console.log(b.instance))'], { cwd: dir });
    expect(beside.stdout.trim()).toBe(inst.id);
    const unknown = await gantry(['exec', '--instance', 'nope', '--json', '--', 'true'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(unknown.json.error.hint).toContain(inst.id);
    const missing = await gantry(['exec', '--', 'no-such-command-xyz'], { cwd: dir });
    expect(missing.code).toBe(127);
  }, 120_000);

  it('gets a TTY when stdin is one (interactive), plain pipes otherwise', async () => {
    const { dir } = app();
    expect((await gantry(['deploy'], { cwd: dir })).code).toBe(0);
    const probe = 'console.log("tty:"+Boolean(process.stdin.isTTY)+":"+Boolean(process.stdout.isTTY))';
    const piped = await gantry(['exec', '--', 'node', '-e', probe], { cwd: dir });
    expect(piped.stdout).toContain('tty:false:false');
    // script(1) gives the CLI a pseudo-terminal, as a user's shell would.
    const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
    const out = execFileSync('script', ['-qec', [process.execPath, BIN, 'exec', '--', 'node', '-e', probe].map(quote).join(' '), '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    expect(out).toContain('tty:true:true');
  }, 120_000);
});

describe('gantry destroy (process)', () => {
  it('refuses without a terminal unless --yes (exit 2, nothing removed); --keep-data keeps persist paths; then nothing of the app remains', async () => {
    const { dir, app: name } = app({ extra: 'persist: [data]' });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    await gantry(['deploy', '--force'], { cwd: dir });
    const appDir = join(dir, '.gantry', 'apps', name);
    writeFileSync(join(appDir, 'shared', 'data', 'keep.txt'), 'precious');

    const refused = await gantry(['destroy', '--json'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.json.error.hint).toMatch(/--yes/);
    expect((await get(d.json.url + '/')).status).toBe(200);

    const kept = await gantry(['destroy', '--yes', '--keep-data', '--json'], { cwd: dir });
    expect(kept.code, kept.stdout + kept.stderr).toBe(0);
    expect(kept.json).toMatchObject({ app: name, target: 'local', destroyed: true });
    expect(kept.json.kept.join(' ')).toMatch(/persistent data/);
    expect(readFileSync(join(appDir, 'shared', 'data', 'keep.txt'), 'utf8')).toBe('precious');
    expect(existsSync(join(appDir, 'releases'))).toBe(false);
    expect(existsSync(join(appDir, 'agents'))).toBe(false);
    await expect(get(d.json.url + '/', 1000)).rejects.toThrow();
    expect((await gantry(['releases', '--json'], { cwd: dir })).json).toEqual([]);
    expect((await gantry(['history', '--json'], { cwd: dir })).json).toEqual([]);
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].state).toBe('not_deployed');

    // Deployed again, destroyed without --keep-data: no release dir, no data, no app dir; secrets stay unless asked.
    expect((await gantry(['deploy'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(appDir, 'shared', 'data', 'keep.txt'), 'utf8')).toBe('precious');
    expect((await setSecret(dir, 'UNUSED_TOKEN', 'abcdef-123')).code).toBe(0);
    expect((await gantry(['env', 'set', 'FEATURE=on'], { cwd: dir })).code).toBe(0);
    expect(existsSync(join(dir, '.gantry', 'env', name))).toBe(true);
    const all = await gantry(['destroy', '--yes'], { cwd: dir });
    expect(all.code, all.stderr).toBe(0);
    expect(existsSync(appDir), readdirSync(join(dir, '.gantry', 'apps')).join(',')).toBe(false);
    // The values of `gantry env set` went with the app's last target (issue 20: .gantry/env/<app>/ was left behind).
    expect(existsSync(join(dir, '.gantry', 'env', name))).toBe(false);
    expect((await gantry(['secrets', 'list', '--json'], { cwd: dir })).stdout).toContain('UNUSED_TOKEN');
    const secretsToo = await gantry(['destroy', '--yes', '--include-secrets', '--json'], { cwd: dir });
    expect(secretsToo.code, secretsToo.stdout).toBe(0);
    expect((await gantry(['secrets', 'list', '--json'], { cwd: dir })).stdout).not.toContain('UNUSED_TOKEN');
    // Nothing under .gantry is named after the app any more.
    expect(readdirSync(join(dir, '.gantry'), { recursive: true }).map(String).filter((p) => p.includes(name))).toEqual([]);
  }, 180_000);
});

describe('gantry maintenance (process)', () => {
  it('answers 503 with Retry-After and an escaped page while instances keep running; survives an agent restart; status shows it', async () => {
    const { dir, app: name } = app({ instances: 2 });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const before = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances.map((i: { pid: number }) => i.pid).sort();

    const on = await gantry(['maintenance', 'on', '--message', '<script>alert(1)</script> back at 14:00 & later', '--json'], { cwd: dir });
    expect(on.code, on.stdout + on.stderr).toBe(0);
    expect(on.json).toMatchObject({ app: name, maintenance: true, retry_after_s: 60 });
    const r = await get(d.json.url + '/');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('60');
    expect(r.headers['content-type']).toMatch(/text\/html/);
    expect(r.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt; back at 14:00 &amp; later');
    expect(r.body).not.toContain('<script>');

    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(st.state).toBe('running');
    expect(st.maintenance).toMatchObject({ on: true, retry_after_s: 60 });
    expect(st.instances.map((i: { pid: number }) => i.pid).sort()).toEqual(before);
    expect(st.instances.every((i: { healthy: boolean }) => i.healthy)).toBe(true);
    expect((await gantry(['status'], { cwd: dir })).stdout).toMatch(/maintenance: on/);

    // The agent dies and a new one starts: still in maintenance (persisted in its state), before anything is routed.
    process.kill(agentPid(dir, name), 'SIGKILL');
    await new Promise((res) => setTimeout(res, 300));
    const start = await gantry(['start', '--json'], { cwd: dir });
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect((await get(d.json.url + '/')).status).toBe(503);

    const off = await gantry(['maintenance', 'off', '--json'], { cwd: dir });
    expect(off.json).toMatchObject({ maintenance: false });
    expect((await get(d.json.url + '/')).status).toBe(200);
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].maintenance).toBeUndefined();
    expect((await gantry(['maintenance', 'sideways'], { cwd: dir })).code).toBe(2);
  }, 180_000);
});

describe('status (process)', () => {
  it('shows uptime, restarts, CPU % and RSS per instance; during a rollout the new release and its phase, not degraded', async () => {
    const { dir, write } = app();
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code).toBe(0);
    await new Promise((res) => setTimeout(res, 1100));
    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    const i = st.instances[0];
    expect(i.uptime_s).toBeGreaterThanOrEqual(1);
    expect(i.restarts).toBe(0);
    expect(typeof i.cpu_percent).toBe('number');
    expect(i.rss_bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect((await gantry(['status'], { cwd: dir })).stdout).toMatch(/up \d+s\s+cpu \d+\.\d%\s+rss \d+\.\d MiB/);

    // The next release takes ~4 s to answer its health check.
    write({ run: 'sleep 4 && exec node server.js' });
    const deploying = spawnGantry(['deploy', '--json'], { cwd: dir });
    let seen: any;
    for (let k = 0; k < 60 && !seen; k++) {
      await new Promise((res) => setTimeout(res, 250));
      const t = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
      if (t.state === 'deploying' && t.deploying?.phase === 'health gate') seen = t;
    }
    const done = await deploying.done;
    expect(done.code, done.stdout).toBe(0);
    expect(seen, 'status never showed the rollout in its health gate').toBeDefined();
    expect(seen.deploying).toMatchObject({ kind: 'deploy', release: done.json.release, previous_release: d.json.release, phase: 'health gate' });
    expect(seen.release).toBe(d.json.release);
    const after = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(after).toMatchObject({ state: 'running', release: done.json.release });
  }, 180_000);
});

describe('access port changes (process)', () => {
  it('a new port in the manifest takes effect on the next deploy: the new port listens before the old stops, 0 failed on either', async () => {
    const a = await freePort();
    const { dir, write } = app({ target: `, port: ${a}`, instances: 2 });
    expect((await gantry(['deploy'], { cwd: dir })).code).toBe(0);
    // Picked only now (a listens, so it is not a): a port found free is closed again, and picked before the first deploy
    // it was free for anything else on the machine to take meanwhile; the deploy that binds it follows at once.
    const b = await freePort();
    const oldLoop = pollLoop(`http://127.0.0.1:${a}/`);
    write({ target: `, port: ${b}`, instances: 2 });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    // The former address keeps serving through the deploy (and a short grace after it), then closes.
    const during = await oldLoop.stop();
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.json.url).toBe(`http://127.0.0.1:${b}`);
    expect(during.failed, during.errors.join('\n')).toBe(0);
    expect(during.ok).toBeGreaterThan(10);
    const newLoop = pollLoop(`http://127.0.0.1:${b}/`);
    await newLoop.until((r) => r.ok + r.failed > 10);
    const afterwards = await newLoop.stop();
    expect(afterwards.failed, afterwards.errors.join('\n')).toBe(0);
    expect(afterwards.ok).toBeGreaterThan(10);
    let closed = false;
    // The former port closes after a grace of a few seconds: ask every 250 ms, for up to 15 s.
    for (let k = 0; k < 60 && !closed; k++) {
      closed = await get(`http://127.0.0.1:${a}/`, 1000).then(() => false, () => true);
      if (!closed) await new Promise((res) => setTimeout(res, 250));
    }
    expect(closed, `port ${a} still answers after the move`).toBe(true);
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].url).toBe(`http://127.0.0.1:${b}`);

    // Stopped, with something else on the configured port: status shows no URL rather than that one.
    expect((await gantry(['stop'], { cwd: dir })).code).toBe(0);
    const other = createServer((s) => s.end()).listen(b, '127.0.0.1');
    try {
      await new Promise((res) => other.once('listening', res));
      expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].url).toBeUndefined();
    } finally {
      other.close();
    }
  }, 180_000);
});
