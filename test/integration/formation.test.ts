/**
 * Issue 15 point 6: formation is desired state. `gantry scale N` holds across
 * deploys until the manifest's run.instances changes; `scale 0` stops every
 * instance while the app stays deployed. Real CLI, real processes, real HTTP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
  }
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function app(): { dir: string; write: (instances: number) => void } {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  const write = (instances: number): void =>
    writeFileSync(join(dir, 'gantry.yaml'), [`app: formation-${process.pid}`, `run: { command: node server.js, instances: ${instances} }`, 'health: { path: /health, interval: 200ms, timeout: 2s, retries: 3, start_period: 20s }', 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
  write(1);
  return { dir, write };
}

async function status(dir: string): Promise<any> {
  const st = await gantry(['status', '--json'], { cwd: dir });
  expect(st.code, st.stdout + st.stderr).toBe(0);
  return st.json.targets[0];
}

const healthyRouted = (t: any): any[] => t.instances.filter((i: any) => i.healthy && i.routed && i.release === t.release);

/** Status once `n` instances serve: it probes each once as it answers (one probe can miss its timeout on a loaded machine), so it is read until then, bounded. */
const statusServing = (dir: string, n: number): Promise<any> => pollUntil(() => status(dir), (t) => healthyRouted(t).length === n);

describe('formation is desired state', () => {
  it('scale 3 holds across deploy --force until run.instances changes; scale 0 stops every instance, scale 1 serves again', async () => {
    const { dir, write } = app();
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const url = first.json.url;

    // scale 3, then a forced redeploy: a new release, still 3 healthy instances.
    const up = await gantry(['scale', '3', '--json'], { cwd: dir });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const forced = await gantry(['deploy', '--force', '--json'], { cwd: dir });
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    expect(forced.json.release).not.toBe(first.json.release);
    let t = await statusServing(dir, 3);
    expect(t.state).toBe('running');
    expect(t.release).toBe(forced.json.release);
    expect(healthyRouted(t)).toHaveLength(3);
    expect(t.desired).toMatchObject({ instances: 3, by: 'scale' });
    expect((await gantry(['plan', '--json'], { cwd: dir })).json.instances).toBe(3);

    // The manifest's run.instances changes: its value wins and the scaled count is forgotten.
    write(2);
    expect((await gantry(['plan', '--json'], { cwd: dir })).json.instances).toBe(2);
    const changed = await gantry(['deploy', '--json'], { cwd: dir });
    expect(changed.code, changed.stdout + changed.stderr).toBe(0);
    t = await statusServing(dir, 2);
    expect(t.release).toBe(changed.json.release);
    expect(healthyRouted(t)).toHaveLength(2);
    expect(t.instances).toHaveLength(2);
    expect(t.desired).toMatchObject({ instances: 2, by: 'manifest' });
    const again = await gantry(['deploy', '--force', '--json'], { cwd: dir });
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(healthyRouted(await statusServing(dir, 2))).toHaveLength(2);

    // scale 0: no instance process runs, the app stays deployed, status says so.
    const pids = (await status(dir)).instances.map((i: any) => i.pid as number);
    expect(pids.every(alive)).toBe(true);
    const zero = await gantry(['scale', '0', '--json'], { cwd: dir });
    expect(zero.code, zero.stdout + zero.stderr).toBe(0);
    expect(zero.json).toMatchObject({ kind: 'scale', status: 'succeeded', from: 2, to: 0 });
    t = await status(dir);
    expect(t.state).toBe('scaled_to_zero');
    expect(t.desired).toMatchObject({ state: 'running', instances: 0, by: 'scale' });
    expect(t.instances).toEqual([]);
    expect(pids.filter(alive)).toEqual([]);
    const human = await gantry(['status'], { cwd: dir });
    expect(human.stdout).toMatch(/scaled_to_zero/);
    expect(human.stdout).toMatch(/scaled to 0 instances/);
    // Nothing answers 2xx: the proxy holds the request (then 503s), as when nothing is routed.
    const held = await get(url + '/', 1500).then((r) => r.status, () => 'no answer');
    expect(held).not.toBe(200);

    // A deploy keeps the formation at 0: the new release is recorded, nothing starts.
    const atZero = await gantry(['deploy', '--force', '--json'], { cwd: dir });
    expect(atZero.code, atZero.stdout + atZero.stderr).toBe(0);
    t = await status(dir);
    expect(t.release).toBe(atZero.json.release);
    expect(t.state).toBe('scaled_to_zero');
    expect(t.instances).toEqual([]);

    // scale 1 brings it back, health-gated.
    const one = await gantry(['scale', '1', '--json'], { cwd: dir });
    expect(one.code, one.stdout + one.stderr).toBe(0);
    t = await statusServing(dir, 1);
    expect(t.state).toBe('running');
    expect(healthyRouted(t)).toHaveLength(1);
    const served = await get(url + '/');
    expect(served.status).toBe(200);
    expect(JSON.parse(served.body).release).toBe(atZero.json.release);

    // Scaling to the manifest's own value hands the count back to the manifest.
    const back = await gantry(['scale', '2', '--json'], { cwd: dir });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect((await status(dir)).desired).toMatchObject({ instances: 2, by: 'manifest' });

    // Validation: a negative or non-numeric count is a usage error.
    for (const bad of ['-1', 'lots', '1.5', '101']) {
      const r = await gantry(['scale', bad], { cwd: dir });
      expect(r.code, `${bad}: ${r.stdout}${r.stderr}`).toBe(2);
    }
  });
});
