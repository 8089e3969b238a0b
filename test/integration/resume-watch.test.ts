/**
 * Issue 15.5: a deploy SIGKILLed inside its watch window is resumed by the
 * next command, not judged by one probe. The watch runs for what remains of
 * its window with the previous release warm; then the rest of the stored
 * plan runs (succeeded), or the previous release is switched back in
 * (rolled_back) if the new one turns unhealthy meanwhile.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { getJson, pollLoop } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
  }
});

// Long enough that the next command starts inside the window on a loaded machine.
const WATCH_MS = 15_000;

/**
 * v2 of the failing case: healthy for its first 3 health checks (the deploy's
 * health gate and the single probe the old reconcile judged by), then 500
 * from 2 s later on. Counted in probes, not in time since start, so a loaded
 * machine cannot make it fail before the crash or the first reconcile probe.
 */
const TURNS_UNHEALTHY = `
const http = require('node:http');
let probes = 0;
let badFrom = Infinity;
http.createServer((req, res) => {
  if (req.url === '/health') {
    if (++probes === 3) badFrom = Date.now() + 2000;
    res.writeHead(Date.now() < badFrom ? 200 : 500);
    res.end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ release: process.env.GANTRY_RELEASE }));
}).listen(Number(process.env.PORT), process.env.HOST || '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

function app(): { dir: string; write: (version: string, env?: Record<string, string>, server?: string) => void } {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  writeFileSync(join(dir, 'turns-unhealthy.js'), TURNS_UNHEALTHY);
  const write = (version: string, env: Record<string, string> = {}, server = 'server.js'): void =>
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [
        'app: hello-node',
        `run: { command: node ${server}, instances: 1 }`,
        'health: { path: /health, interval: 300ms, retries: 2, start_period: 10s }',
        `env: { GREETING: "${version}"${Object.entries(env).map(([k, v]) => `, ${k}: "${v}"`).join('')} }`,
        `strategy: { type: rolling, watch: ${WATCH_MS / 1000}s }`,
        'targets: { local: { type: process } }',
      ].join('\n'),
    );
  return { dir, write };
}

/** Deploy v1, then deploy v2 with the CLI SIGKILLed as its watch starts; returns what the crash left. */
async function crashInWatch(dir: string, write: ReturnType<typeof app>['write'], v2server?: string) {
  write('v1');
  const v1 = await gantry(['deploy', '--json'], { cwd: dir });
  expect(v1.code, v1.stdout + v1.stderr).toBe(0);
  const url = v1.json.url as string;
  const v1Instances = ((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances as Array<{ id: string }>).map((i) => i.id);
  const loop = pollLoop(url, { maxMs: 60_000 });
  write('v2', {}, v2server);
  const crashed = await gantry(['deploy', '--json'], { cwd: dir, env: { GANTRY_TEST_CRASH_AT: 'watch' } });
  const crashedAt = Date.now();
  expect(crashed.code, crashed.stdout + crashed.stderr).toBe(128);
  // (No `history` call here: the next command must start inside the window.)
  return { v1: v1.json.release as string, v1Instances, url, loop, crashedAt };
}

describe('a deploy SIGKILLed inside its watch window is resumed by the next command (issue 15.5)', () => {
  it('v2 turns unhealthy 2 s after its first checks pass: the resumed watch fails, v1 is switched back in, 0 failed requests', async () => {
    const { dir, write } = app();
    const { v1, v1Instances, url, loop } = await crashInWatch(dir, write, 'turns-unhealthy.js');

    const st = await gantry(['status', '--json'], { cwd: dir, timeoutMs: 60_000 });
    const report = await loop.stop();
    expect(st.code, st.stdout + st.stderr).toBe(0);
    const t = st.json.targets[0];
    const attempted = (await gantry(['history', '--json'], { cwd: dir })).json[0];
    expect(attempted.release).not.toBe(v1);
    expect(t.reconciled).toHaveLength(1);
    expect(t.reconciled[0]).toMatchObject({ deployment: attempted.id, outcome: 'rolled_back', release: v1, resumed: { result: 'failed' } });
    expect(t.reconciled[0].resumed.step).toMatch(/^watch/);
    expect(t.release).toBe(v1);
    expect(t.state).toBe('running');
    for (const i of t.instances) expect(i).toMatchObject({ release: v1, routed: true, healthy: true });
    // The previous release was kept warm through the resumed watch: the same instance serves again, not a new one.
    expect(t.instances.map((i: { id: string }) => i.id)).toEqual(v1Instances);

    const last = attempted;
    expect(last).toMatchObject({ id: attempted.id, status: 'rolled_back' });
    expect(last.reason).toMatch(/interrupted at watch.*resumed by reconciliation.*failed/);
    expect((await getJson(url + '/')).release).toBe(v1);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    expect(report.ok).toBeGreaterThan(0);
  }, 120_000);

  it('v2 stays healthy: the reconcile ends succeeded only after the rest of the window, then the previous release stops', async () => {
    const { dir, write } = app();
    const { v1, url, loop, crashedAt } = await crashInWatch(dir, write);

    const st = await gantry(['status', '--json'], { cwd: dir, timeoutMs: 60_000 });
    const reconciledAt = Date.now();
    const report = await loop.stop();
    expect(st.code, st.stdout + st.stderr).toBe(0);
    const t = st.json.targets[0];
    const attempted = (await gantry(['history', '--json'], { cwd: dir })).json[0];
    expect(attempted.release).not.toBe(v1);
    expect(t.reconciled[0]).toMatchObject({ deployment: attempted.id, outcome: 'completed', release: attempted.release, resumed: { result: 'passed' } });
    // The window is measured from the watch step's recorded start (just before the crash): not skipped, not restarted.
    expect(t.reconciled[0].resumed.remaining_ms).toBeGreaterThan(0);
    expect(t.reconciled[0].resumed.remaining_ms).toBeLessThanOrEqual(WATCH_MS);
    expect(reconciledAt - crashedAt).toBeGreaterThanOrEqual(t.reconciled[0].resumed.remaining_ms - 200);
    expect(t.release).toBe(attempted.release);
    // The rest of the stored plan ran: the previous release's instance is stopped.
    expect(t.instances).toHaveLength(1);
    for (const i of t.instances) expect(i).toMatchObject({ release: attempted.release, routed: true, healthy: true });
    expect(t.instances.some((i: { release: string }) => i.release === v1)).toBe(false);

    const last = attempted;
    expect(last).toMatchObject({ id: attempted.id, status: 'succeeded' });
    expect(last.reason).toMatch(/resumed by reconciliation.*passed/);
    expect((await getJson(url + '/')).release).toBe(attempted.release);
    expect(report.failed, report.errors.join('\n')).toBe(0);
  }, 120_000);
});
