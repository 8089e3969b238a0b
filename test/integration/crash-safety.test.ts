/**
 * Issue 4: the engine is SIGKILLed at each pipeline step (GANTRY_TEST_CRASH_AT,
 * a test-only switch) and the next command reconciles to a consistent state:
 * one release serving with its full, healthy instance count, no orphans.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const dir = copyExample('hello-node');
afterAll(async () => {
  await gantry(['stop'], { cwd: dir });
  killAgents(dir);
});

let version = 0;
function manifest(strategy: string): void {
  version++;
  writeFileSync(
    join(dir, 'gantry.yaml'),
    ['app: hello-node', 'run: { command: node server.js, instances: 2 }', 'health: { path: /health, start_period: 10s }', `env: { GREETING: "v${version}" }`, `strategy: { ${strategy.includes('watch') ? strategy : `${strategy}, watch: 0s`} }`, 'hooks: { pre_deploy: "true" }', 'targets: { local: { type: process } }'].join('\n'),
  );
}

async function consistent(expectRelease: string, url: string, warm: boolean, at = ''): Promise<void> {
  // Status probes each instance once as it answers (one probe can miss its timeout on a loaded machine): read until 2 serve, bounded.
  const st = await pollUntil(
    () => gantry(['status', '--json'], { cwd: dir }),
    (s) => s.json?.targets?.[0]?.instances?.filter((i: any) => i.healthy && i.routed && i.release === expectRelease).length === 2,
  );
  expect(st.code, st.stdout + st.stderr).toBe(0);
  const t = st.json.targets[0];
  expect(t.state).toBe('running');
  expect(t.release).toBe(expectRelease);
  // A blue-green plan continued after the crash keeps the previous set warm (unrouted) for its keep_previous, as without the crash; those must not be routed.
  const serving = warm ? t.instances.filter((i: any) => i.routed) : t.instances;
  expect(serving, at + JSON.stringify(t.instances.map((i: any) => [i.id, i.release, i.routed, i.healthy]))).toHaveLength(2);
  for (const i of serving) expect(i).toMatchObject({ healthy: true, routed: true, release: expectRelease });
  for (const i of t.instances) if (i.release !== expectRelease) expect(i.routed, at).toBe(false);
  expect((await getJson(url + '/')).release).toBe(expectRelease);
}

describe('crash safety: SIGKILL at each step, then the next command reconciles', () => {
  const cases: Array<{ at: string; strategy?: string; forward: boolean; via: 'status' | 'deploy' }> = [
    { at: 'build', forward: false, via: 'status' },
    { at: 'hook', forward: false, via: 'status' },
    { at: 'startInstance', forward: false, via: 'status' },
    { at: 'checkHealth', forward: false, via: 'deploy' },
    { at: 'switchTraffic', forward: false, via: 'status' },
    { at: 'drain', forward: false, via: 'status' },
    { at: 'stopInstance', forward: false, via: 'status' },
    { at: 'switchTraffic#2', forward: false, via: 'status' },
    // The last batch's stop runs beside the record (issue 21): killed there, the plan goes on from the stop.
    { at: 'stopInstance#2', forward: true, via: 'status' },
    { at: 'record', forward: true, via: 'status' },
    { at: 'startInstance', strategy: 'type: recreate', forward: false, via: 'status' },
    { at: 'keepWarm', strategy: 'type: blue-green, keep_previous: 30s', forward: true, via: 'status' },
    { at: 'watch', strategy: 'type: rolling, watch: 2s', forward: true, via: 'status' },
  ];

  it('reaches a consistent state from every crash point', { timeout: 300_000 }, async () => {
    manifest('type: rolling');
    const base = await gantry(['deploy', '--json'], { cwd: dir });
    expect(base.code, base.stderr).toBe(0);
    const url = base.json.url;
    let serving = base.json.release as string;

    for (const c of cases) {
      manifest(c.strategy ?? 'type: rolling');
      const crashed = await gantry(['deploy', '--json'], { cwd: dir, env: { GANTRY_TEST_CRASH_AT: c.at } });
      expect(crashed.code, `${c.at}: ${crashed.stdout}${crashed.stderr}`).toBe(128);
      const attempted = (await gantry(['history', '--json'], { cwd: dir })).json[0];
      expect(attempted.status, c.at).toBe('running');

      if (c.via === 'deploy') {
        // The next deploy reports the interrupted one, reconciles, then deploys.
        manifest(c.strategy ?? 'type: rolling');
        const next = await gantry(['deploy', '--json'], { cwd: dir });
        expect(next.code, next.stdout).toBe(0);
        expect(next.json.reconciled[0]).toMatchObject({ deployment: attempted.id, outcome: 'rolled_back' });
        serving = next.json.release;
      } else {
        const st = await gantry(['status', '--json'], { cwd: dir });
        const rec = st.json.targets[0].reconciled;
        expect(rec, c.at).toHaveLength(1);
        expect(rec[0]).toMatchObject({ deployment: attempted.id, outcome: c.forward ? 'completed' : 'rolled_back' });
        if (c.forward) serving = attempted.release;
      }
      // From the blue-green case on, its previous set stays warm (unrouted) for keep_previous, crash or not.
      await consistent(serving, url, cases.indexOf(c) >= cases.findIndex((x) => x.at === 'keepWarm'), c.at);
      const record = (await gantry(['history', '--json'], { cwd: dir })).json.find((d: any) => d.id === attempted.id);
      expect(record.status, c.at).toBe(c.forward ? 'succeeded' : 'rolled_back');
      expect(record.reason, c.at).toMatch(/interrupted at/);
    }
  });
});
