/**
 * Issue 15 point 5: after a SIGKILL at any step of any stored plan (not only a
 * deploy's watch), the next command reads the plan and continues it or runs
 * its compensation. Real CLI, real processes, real HTTP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const dir = copyExample('hello-node');
afterAll(async () => {
  await gantry(['stop'], { cwd: dir });
  killAgents(dir);
});

function manifest(opts: { greeting: string; unhealthy?: boolean }): void {
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [`app: resume-any-${process.pid}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms, timeout: 2s, retries: 3, start_period: 3s }', `env: { GREETING: "${opts.greeting}"${opts.unhealthy ? ', UNHEALTHY_AFTER_MS: "1"' : ''} }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'),
  );
}

async function target(): Promise<any> {
  const st = await gantry(['status', '--json'], { cwd: dir });
  expect(st.code, st.stdout + st.stderr).toBe(0);
  return st.json.targets[0];
}

const lastDeployment = async (): Promise<any> => (await gantry(['history', '--json'], { cwd: dir })).json[0];

describe('resume after SIGKILL at any step (issue 15.5)', () => {
  it('a scale 1 → 3 killed while a new instance starts is continued by the next status: 3 healthy instances, recorded succeeded', async () => {
    manifest({ greeting: 'v1' });
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const crashed = await gantry(['scale', '3', '--json'], { cwd: dir, env: { GANTRY_TEST_CRASH_AT: 'checkHealth#2' } });
    expect(crashed.code, crashed.stdout + crashed.stderr).toBe(128);
    expect(await lastDeployment()).toMatchObject({ kind: 'scale', status: 'running' });
    const t = await target();
    expect(t.reconciled[0]).toMatchObject({ outcome: 'completed', release: first.json.release });
    const serving = t.instances.filter((i: any) => i.healthy && i.routed && i.release === first.json.release);
    expect(serving).toHaveLength(3);
    expect(t.instances).toHaveLength(3);
    const rec = await lastDeployment();
    expect(rec).toMatchObject({ kind: 'scale', status: 'succeeded' });
    expect(rec.reason).toMatch(/interrupted at checkHealth.*resumed by reconciliation/);
    await gantry(['scale', '1'], { cwd: dir });
  });

  it('a failed deploy killed while it goes back (inside its compensation) goes back again on the next status: the previous release serves, recorded rolled_back', async () => {
    const before = (await target()).release;
    manifest({ greeting: 'broken', unhealthy: true });
    const crashed = await gantry(['deploy', '--json'], { cwd: dir, env: { GANTRY_TEST_CRASH_AT: 'compensate' } });
    expect(crashed.code, crashed.stdout + crashed.stderr).toBe(128);
    const t = await target();
    expect(t.reconciled[0]).toMatchObject({ outcome: 'rolled_back', release: before });
    expect(t.release).toBe(before);
    const serving = t.instances.filter((i: any) => i.healthy && i.routed);
    expect(serving.map((i: any) => i.release)).toEqual([before]);
    expect((await getJson(`${t.url}/`)).release).toBe(before);
    const rec = await lastDeployment();
    expect(rec).toMatchObject({ kind: 'deploy', status: 'rolled_back' });
    expect(rec.reason).toMatch(/interrupted at .*already going back/);
  });

  it('a stop killed at its shutdown step is finished by the next status: stopped, nothing serves', async () => {
    const crashed = await gantry(['stop', '--json'], { cwd: dir, env: { GANTRY_TEST_CRASH_AT: 'shutdown' } });
    expect(crashed.code, crashed.stdout + crashed.stderr).toBe(128);
    const t = await target();
    expect(t.reconciled[0]).toMatchObject({ outcome: 'stopped' });
    expect(t.state).toBe('stopped');
    expect(t.instances.filter((i: any) => i.state === 'running')).toHaveLength(0);
  });
});
