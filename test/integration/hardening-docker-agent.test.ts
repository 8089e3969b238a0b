/**
 * Issue 14, point 8 on the real Docker engine: containers killed or removed
 * behind Gantry's back come back (the agent restarts them; `deploy` heals
 * what it cannot), and a dead agent is named like on the process target.
 * Run under `flock /tmp/gantry-docker.lock`.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp, docker } from '../helpers/docker.js';
import { get } from '../helpers/http.js';

const skip = baseImageProblem;
const itDocker = (name: string, fn: () => Promise<void>, timeout = 240_000) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, timeout));

const apps: Array<{ dir: string; app: string }> = [];
afterAll(async () => {
  for (const { dir, app } of apps) {
    await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
    killAgents(dir);
    if (!skip) await cleanupApp(app);
  }
});

let n = 0;
function dockerApp(): { dir: string; app: string } {
  const dir = copyExample('hello-node');
  const app = `h14-dkagent-${process.pid}-${++n}`;
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [`app: ${app}`, 'run: { command: node server.js, instances: 1, port: 3000 }', 'health: { path: /health, interval: 500ms, start_period: 15s }', 'strategy: { type: rolling, watch: 0s }', 'targets:', '  box: { type: docker }'].join('\n'),
  );
  apps.push({ dir, app });
  return { dir, app };
}

async function containers(app: string) {
  return docker.listContainers({ all: true, filters: { label: [`dev.gantry.app=${app}`, 'dev.gantry.role=app'] } });
}

/** Requests until one answers 200 (bounded); returns how many failed before. */
async function untilServing(url: string, ms: number): Promise<{ served: boolean; failed: number }> {
  const deadline = Date.now() + ms;
  let failed = 0;
  while (Date.now() < deadline) {
    const r = await get(url + '/', 35_000).catch(() => ({ status: 0 }));
    if (r.status === 200) return { served: true, failed };
    failed++;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { served: false, failed };
}

describe('docker containers killed behind Gantry\'s back (issue 14.8)', () => {
  itDocker('the agent starts a `docker kill`ed container again and routes it once healthy', async () => {
    const { dir, app } = dockerApp();
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const url = d.json.url as string;
    const [c] = await containers(app);
    await docker.getContainer(c!.Id).kill();
    // No Gantry command: the agent notices and brings it back; requests meanwhile are held, not failed for long.
    const back = await untilServing(url, 60_000);
    expect(back.served).toBe(true);
    const info = await docker.getContainer(c!.Id).inspect();
    expect(info.State.Running).toBe(true);
    let failed = 0;
    for (let i = 0; i < 20; i++) if ((await get(url + '/').catch(() => ({ status: 0 }))).status !== 200) failed++;
    expect(failed).toBe(0);
    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(st.state).toBe('running');
    expect(st.instances[0].restarts).toBeGreaterThanOrEqual(1);
  });

  itDocker('`gantry deploy` heals a removed container instead of saying "nothing to deploy"', async () => {
    const { dir, app } = dockerApp();
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const [c] = await containers(app);
    await docker.getContainer(c!.Id).remove({ force: true });
    const again = await gantry(['deploy', '--json'], { cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.json.reason ?? '').not.toMatch(/nothing to deploy/);
    expect(again.json.release).toBe(d.json.release);
    const list = await containers(app);
    expect(list.filter((x) => x.State === 'running')).toHaveLength(1);
    expect((await get(d.json.url + '/')).status).toBe(200);
    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(st.state).toBe('running');
  });

  itDocker('status names a dead agent the same way as the process target: degraded', async () => {
    const { dir } = dockerApp();
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const apps = join(dir, '.gantry/apps');
    const agents = join(apps, readdirSync(apps)[0]!, 'agents');
    process.kill(JSON.parse(readFileSync(join(agents, readdirSync(agents)[0]!, 'agent.json'), 'utf8')).pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].state).toBe('degraded');
  });
});
