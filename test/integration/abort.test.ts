/**
 * Issue 15 point 7 acceptance: any rollout in progress can be aborted, by
 * `gantry abort` from another shell or by Ctrl-C (SIGINT) to the deploying
 * CLI. Either way the previous release serves again, the deployment is
 * recorded rolled_back with an "aborted" reason, and a client loop sees no
 * failed request.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents, spawnGantry } from '../helpers/cli.js';
import { getJson, pollLoop } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
    killAgents(dir);
  }
});

/** 3 instances, rolling one at a time; `slow` makes each new instance take ~4 s to answer, so an abort lands mid-rollout. */
function manifest(dir: string, greeting: string, slow: boolean): void {
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [
      'app: hello-node',
      'run:',
      `  command: ${slow ? 'sleep 4 && exec node server.js' : 'node server.js'}`,
      '  instances: 3',
      'health: { path: /health, start_period: 20s }',
      'env:',
      `  GREETING: ${JSON.stringify(greeting)}`,
      'strategy: { type: rolling, max_surge: 1, max_unavailable: 0, watch: 0s }',
      'targets:',
      '  local: { type: process }',
    ].join('\n'),
  );
}

/** A first release ("one") serving 3 instances, and the manifest of a slow second one written. */
async function deployedApp(): Promise<{ dir: string; url: string; first: string }> {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  manifest(dir, 'one', false);
  const first = await gantry(['deploy', '--json'], { cwd: dir });
  expect(first.code, first.stdout + first.stderr).toBe(0);
  manifest(dir, 'two', true);
  return { dir, url: first.json.url, first: first.json.release };
}

/** Wait (bounded) until the rollout waits for the health of its second or third new instance: an old instance is already replaced. */
async function midRollout(dir: string, deploying: Promise<{ code: number; stdout: string; stderr: string }>): Promise<void> {
  let ended: string | undefined;
  void deploying.then((d) => (ended = `the deploy ended (exit ${d.code}) before it could be aborted: ${d.stdout}${d.stderr}`));
  for (let i = 0; i < 100 && !ended; i++) {
    const waiting = (await gantry(['status', '--json'], { cwd: dir })).json?.targets?.[0]?.deploying?.waiting;
    if (/health of [0-9a-f]{6}-[12]-/.test(String(waiting))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(ended ?? 'the rollout never reached its second new instance');
}

async function expectPreviousServing(dir: string, url: string, first: string): Promise<void> {
  for (let i = 0; i < 20; i++) expect((await getJson(url + '/')).message).toBe('one');
  // Status probes each instance once as it answers (one probe can miss its timeout on a loaded machine): read until 3 serve, bounded.
  const statusNow = async (): Promise<any> => (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
  const st = await pollUntil(statusNow, (t) => t.instances.filter((i: any) => i.routed && i.healthy && i.release === first).length === 3);
  expect(st.deploying).toBeUndefined();
  expect(st.release).toBe(first);
  const routed = st.instances.filter((i: any) => i.routed);
  expect(routed).toHaveLength(3);
  expect(routed.every((i: any) => i.release === first && i.healthy)).toBe(true);
}

async function expectRecordedAborted(dir: string): Promise<void> {
  const last = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].last_deployment;
  expect(last.kind).toBe('deploy');
  expect(last.status).toBe('rolled_back');
  expect(String(last.reason)).toMatch(/aborted/);
}

describe('abort any rollout', () => {
  it('`gantry abort` during a rolling deploy of 3 instances: previous release serves, recorded rolled_back (aborted), 0 failed requests', async () => {
    const { dir, url, first } = await deployedApp();
    const loop = pollLoop(url + '/');
    const deploying = gantry(['deploy', '--json'], { cwd: dir });
    await midRollout(dir, deploying);
    const ab = await gantry(['abort', '--json'], { cwd: dir });
    const d = await deploying;
    await new Promise((r) => setTimeout(r, 300));
    const report = await loop.stop();
    expect(ab.code, ab.stdout + ab.stderr).toBe(0);
    expect(ab.json.acted).toBe(true);
    expect(ab.json.status).toBe('rolled_back');
    expect(ab.json.reason).toMatch(/aborted by `gantry abort`/);
    expect(d.code, d.stdout + d.stderr).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.error.code).toBe('ABORTED');
    expect(d.json.reason).toMatch(/aborted/);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    expect(report.ok).toBeGreaterThan(0);
    await expectPreviousServing(dir, url, first);
    await expectRecordedAborted(dir);
    // Nothing is in progress any more: a second abort says so.
    const none = await gantry(['abort', '--json'], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.json.error.code).toBe('NOT_RUNNING');
  }, 240_000);

  it('SIGINT to the deploying CLI rolls back, says so and exits 130: previous release serves, recorded rolled_back (aborted), 0 failed requests', async () => {
    const { dir, url, first } = await deployedApp();
    const loop = pollLoop(url + '/');
    const { child, done } = spawnGantry(['deploy', '--json'], { cwd: dir });
    await midRollout(dir, done);
    expect(child.kill('SIGINT')).toBe(true);
    const d = await done;
    await new Promise((r) => setTimeout(r, 300));
    const report = await loop.stop();
    expect(d.signal).toBeNull();
    expect(d.code, d.stdout + d.stderr).toBe(130);
    expect(d.stderr).toMatch(/SIGINT received: aborting the deploy, rolling back to the previous release/);
    expect(d.stderr).toMatch(/the deploy ended rolled_back/);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.error.code).toBe('ABORTED');
    expect(d.json.reason).toMatch(/aborted by Ctrl-C/);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    await expectPreviousServing(dir, url, first);
    await expectRecordedAborted(dir);
  }, 240_000);
});
