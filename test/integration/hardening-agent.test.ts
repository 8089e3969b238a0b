/**
 * Issue 14, points 5-8 on the process target: the host agent is SIGKILLed
 * (by the pid it recorded) and what it supervised must neither outlive it
 * unseen nor be routed before it is ready; a crash loop fails the watch.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { gantry, killAgents } from '../helpers/cli.js';
import { get, getJson } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
  }
});

/** An app that says which pid answers, can be told to exit, starts slowly or exits on a timer when asked. */
const SERVER = `
const http = require('node:http');
const server = http.createServer((req, res) => {
  if (req.url === '/exit') { res.end('bye'); setTimeout(() => process.exit(1), 20); return; }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ pid: process.pid, release: process.env.GANTRY_RELEASE, version: process.env.VERSION }));
});
setTimeout(() => server.listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1'), Number(process.env.START_DELAY_MS || 0));
if (Number(process.env.EXIT_AFTER_MS)) setTimeout(() => process.exit(3), Number(process.env.EXIT_AFTER_MS));
process.on('SIGTERM', () => process.exit(0));
`;

let n = 0;
function app(opts: { env?: Record<string, string>; health?: string; strategy?: string } = {}): { dir: string; write: (o?: typeof opts) => void } {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-h14-agent-'));
  dirs.push(dir);
  const name = `h14-agent-${process.pid}-${++n}`;
  writeFileSync(join(dir, 'server.js'), SERVER);
  const write = (o: typeof opts = opts): void =>
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [
        `app: ${name}`,
        'run: { command: node server.js, instances: 1 }',
        `health: { ${o.health ?? 'path: /, interval: 500ms, retries: 3, start_period: 20s'} }`,
        `env: ${JSON.stringify({ VERSION: 'v1', ...o.env })}`,
        `strategy: { ${o.strategy ?? 'type: rolling, watch: 0s'} }`,
        'targets: { local: { type: process } }',
      ].join('\n'),
    );
  write();
  return { dir, write };
}

function agentInfo(dir: string): { pid: number } {
  const apps = join(dir, '.gantry/apps');
  const agents = join(apps, readdirSync(apps)[0]!, 'agents');
  return JSON.parse(readFileSync(join(agents, readdirSync(agents)[0]!, 'agent.json'), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function pgrp(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** Deploy, then make the supervisor restart the instance once (it exits on /exit); returns the restarted pid. */
async function deployedAndRestarted(dir: string): Promise<{ url: string; pid: number; port: number }> {
  const d = await gantry(['deploy', '--json'], { cwd: dir });
  expect(d.code, d.stdout + d.stderr).toBe(0);
  const url = d.json.url as string;
  const first = (await getJson(url + '/')).pid as number;
  await get(url + '/exit');
  let pid = first;
  await waitFor('the supervisor to restart the instance', async () => {
    pid = await getJson(url + '/').then((b) => b.pid as number, () => first);
    return pid !== first;
  });
  const st = await gantry(['status', '--json'], { cwd: dir });
  const port = Number(new URL(st.json.targets[0].instances[0].url).port);
  return { url, pid, port };
}

describe('an agent crash orphans nothing (issue 14.5)', () => {
  it('`gantry stop` after a SIGKILLed agent stops the instances it supervised, restarted ones included', async () => {
    const { dir } = app();
    const { pid, port } = await deployedAndRestarted(dir);
    process.kill(agentInfo(dir).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect(alive(pid)).toBe(true);
    const stop = await gantry(['stop', '--json'], { cwd: dir });
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    await waitFor(`orphan ${pid} to be gone`, () => !alive(pid), 10_000);
    expect(await accepts(port)).toBe(false);
  });

  it('`gantry start` and `gantry deploy` after a SIGKILLed agent reap the orphan: the instance serving is the one Gantry runs', async () => {
    const { dir, write } = app();
    const { url, pid: orphan } = await deployedAndRestarted(dir);
    process.kill(agentInfo(dir).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const start = await gantry(['start', '--json'], { cwd: dir });
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(alive(orphan), `orphan ${orphan} still runs`).toBe(false);
    const served = (await getJson(url + '/')).pid as number;
    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(st.state).toBe('running');
    expect(st.instances).toHaveLength(1);
    expect(st.instances[0]).toMatchObject({ healthy: true, routed: true, restarts: 0, state: 'running' });
    // The process answering belongs to the instance's own process group.
    expect(pgrp(served)).toBe(st.instances[0].pid);

    // Again, then a deploy of new code: only the new code answers afterwards.
    await get(url + '/exit');
    await waitFor('a restart', async () => (await getJson(url + '/').then((b) => b.pid as number, () => served)) !== served);
    const orphan2 = (await getJson(url + '/')).pid as number;
    process.kill(agentInfo(dir).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    write({ env: { VERSION: 'v2' } });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(alive(orphan2), `orphan ${orphan2} still runs`).toBe(false);
    for (let i = 0; i < 10; i++) expect((await getJson(url + '/')).version).toBe('v2');
  });

  it('status names a dead agent the same way as docker does: degraded, not stopped', async () => {
    const { dir } = app();
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    process.kill(agentInfo(dir).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const st = await gantry(['status', '--json'], { cwd: dir });
    expect(st.json.targets[0].state).toBe('degraded');
  });
});

describe('a restarted agent routes an instance only once it is healthy (issue 14.6)', () => {
  it('no request fails while a restored instance takes 3 s to start', async () => {
    const { dir } = app({ env: { START_DELAY_MS: '3000' } });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const url = d.json.url as string;
    process.kill(agentInfo(dir).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const start = gantry(['start', '--json'], { cwd: dir });
    // Once the new agent's proxy accepts connections, 60 probes: none may fail.
    await waitFor('the restarted proxy', () => accepts(Number(new URL(url).port)), 20_000);
    let failed = 0;
    const errors: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await get(url + '/', 40_000).catch((e: Error) => ({ status: 0, body: e.message }));
      if (r.status !== 200) {
        failed++;
        if (errors.length < 5) errors.push(`${r.status} ${r.body.slice(0, 100)}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(failed, errors.join('\n')).toBe(0);
    expect((await start).code).toBe(0);
  });
});

describe('the watch window catches a crash loop (issue 14.7)', () => {
  it('a release whose process exits every 4 s is rolled back inside the watch window', async () => {
    const { dir, write } = app({ strategy: 'type: rolling, watch: 10s' });
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    write({ env: { VERSION: 'v2', EXIT_AFTER_MS: '4000' }, strategy: 'type: rolling, watch: 10s' });
    const bad = await gantry(['deploy', '--json'], { cwd: dir });
    expect(bad.json.status, bad.stdout).toBe('rolled_back');
    expect(bad.json.reason).toMatch(/watch window/);
    expect(bad.json.reason).toMatch(/exited|restarted/);
    expect((await getJson(first.json.url + '/')).version).toBe('v1');
  });
});
