/**
 * Conformance: the same scenarios against every registered target (issue 15
 * point 10), through the real CLI and real HTTP only. One app per target runs
 * through the scenarios in order (each builds on the state the previous one
 * left), so a target is judged on one continuous life: deploy, redeploy under
 * load, failed gates, rollback, restart, stop/start, logs, persist, secrets,
 * scale (and a forced deploy at 3), abort of every strategy, Ctrl-C to a
 * deploy, and a SIGKILLed deploy. A target that cannot run here is
 * skipped with the reason in its name.
 *
 * Each target has a test file of its own (test/conformance/<type>.test.ts)
 * calling `conformanceSuite`, so the targets run in parallel workers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents, setSecret, spawnGantry, waitUntilWaiting, type CliResult } from '../helpers/cli.js';
import { get, getJson, pollLoop, type LoopReport } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';
import { TARGETS, type TargetUnderTest } from './targets.js';

const INSTANCES = 2;
/** Short windows keep the suite fast; the interval stays at 1s because docker runs its own healthcheck (a process in the container) at that pace. */
const HEALTH = 'path: /health, interval: 1s, timeout: 2s, retries: 2, start_period: 20s';
const ROLLING = 'type: rolling, watch: 1s';
/**
 * A release whose instances take `seconds` to start listening, so that a
 * rollout can be caught (and aborted) while it waits for their health; an
 * abort stops them, sleep included, without waiting for it.
 */
const slowStart = (seconds: number): string => `sleep ${seconds} && exec node server.js`;
/** Held requests may wait this long: while nothing is routed (recreate) the proxy holds them, up to its own 30 s. */
const HOLD_MS = 30_000;

const sha256 = (v: string): string => createHash('sha256').update(v).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failures = (r: LoopReport): string => `${r.failed} failed of ${r.ok + r.failed}: ${r.errors.join(' | ')}`;

/** The scenarios against the target of type `type` (skipped, with the reason in its name, when it cannot run here). */
export function conformanceSuite(type: string): void {
  const target = TARGETS.find((t) => t.type === type);
  if (!target) throw new Error(`no conformance entry for target type ${type} (test/conformance/targets.ts)`);
  const title = `conformance: ${target.type} target`;
  if (target.problem) describe.skip(`${title} (skipped: ${target.problem})`, () => scenarios(target));
  else describe.sequential(title, () => scenarios(target));
}

function scenarios(t: TargetUnderTest): void {
  let dir = '';
  let url = '';
  let secretsDeclared = false;
  /** Release ids by the greeting they were deployed with. */
  const rel: Record<string, string> = {};

  const write = (greeting: string, o: { env?: Record<string, string>; health?: string; strategy?: string; command?: string } = {}): void =>
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [
        `app: ${t.app}`,
        `run: { command: ${JSON.stringify(o.command ?? 'node server.js')}, instances: ${INSTANCES} }`,
        `health: { ${o.health ?? HEALTH} }`,
        `env: ${JSON.stringify({ GREETING: greeting, ...(secretsDeclared ? { HASH_SECRET: 'API_TOKEN' } : {}), ...o.env })}`,
        secretsDeclared ? 'secrets: [API_TOKEN]' : '',
        'persist: [data]',
        `strategy: { ${o.strategy ?? ROLLING} }`,
        'targets:',
        `  t: ${t.config()}`,
      ].join('\n'),
    );
  const cli = (args: string[], env?: Record<string, string>) => gantry(args, { cwd: dir, env });
  const status = async (): Promise<any> => {
    const st = await cli(['status', '--json']);
    expect(st.code, st.stdout + st.stderr).toBe(0);
    return st.json.targets[0];
  };
  /** `release` serves alone: status running with `count` healthy routed instances of it, and the URL answers with it. */
  const expectServing = async (release: string, count = INSTANCES): Promise<any> => {
    // Status probes each instance once as it answers (one probe can miss its timeout on a loaded machine): read it until it holds, bounded.
    const st = await pollUntil(status, (s) => s.state === 'running' && s.instances.filter((i: any) => i.routed && i.healthy && i.release === release).length === count);
    expect(st.state, JSON.stringify(st.instances)).toBe('running');
    expect(st.release).toBe(release);
    expect(st.instances.filter((i: any) => i.routed && i.healthy && i.release === release)).toHaveLength(count);
    expect(st.instances.filter((i: any) => i.routed && i.release !== release)).toEqual([]);
    expect((await getJson(url + '/')).release).toBe(release);
    return st;
  };
  /** Run `fn` with a client polling the URL before, during and after it. */
  const underLoad = async <T>(fn: () => Promise<T>, requestTimeoutMs?: number): Promise<[T, LoopReport]> => {
    const loop = pollLoop(url + '/', { requestTimeoutMs });
    // Answered before `fn`, and after it (a request sent after it returned: the second answered from then), however
    // slow the machine: a fixed sleep guessed how many requests it gets through.
    const answered = (r: LoopReport): number => r.ok + r.failed;
    await loop.until((r) => answered(r) > 0);
    try {
      const out = await fn();
      const atReturn = answered(loop.report);
      await loop.until((r) => answered(r) >= atReturn + 2);
      return [out, await loop.stop()];
    } catch (err) {
      await loop.stop();
      throw err;
    }
  };

  /** The deployment ended rolled_back because it was aborted, in its own result and in history. */
  const expectAborted = async (d: CliResult): Promise<void> => {
    expect(d.json?.status, d.stdout + d.stderr).toBe('rolled_back');
    expect(d.json.error.code).toBe('ABORTED');
    expect(d.json.reason).toMatch(/aborted/);
    const record = (await cli(['history', '--json'])).json.find((h: any) => h.id === d.json.id);
    expect(record).toMatchObject({ status: 'rolled_back' });
    expect(record.reason).toMatch(/aborted/);
  };
  /**
   * Wait (bounded) until the deploy in progress waits for the health of a new
   * instance; with `afterSwitch`, only once a new instance already serves
   * (a rolling deploy's 2nd or 3rd). Fails at once if the deploy ended first.
   */
  const untilWaitingForHealth = async (deploying: Promise<CliResult>, previous: string, afterSwitch: boolean): Promise<void> => {
    let ended: string | undefined;
    void deploying.then((d) => (ended = `the deploy ended (exit ${d.code}) before it could be interrupted: ${d.stdout}${d.stderr}`));
    for (let i = 0; i < 150 && !ended; i++) {
      const st = (await cli(['status', '--json'])).json?.targets?.[0];
      const newServes = (st?.instances ?? []).some((x: any) => x.routed && x.healthy && x.release !== previous);
      if (String(st?.deploying?.waiting).startsWith('health of') && (!afterSwitch || newServes)) return;
      await sleep(100);
    }
    throw new Error(ended ?? 'the deploy never waited for the health of a new instance');
  };

  beforeAll(async () => {
    await t.cleanup(t.app);
    await t.setup?.();
    dir = copyExample('hello-node');
  }, 240_000);
  afterAll(async () => {
    if (!dir) return;
    await cli(['stop', '--json']).catch(() => undefined);
    killAgents(dir);
    await t.cleanup(t.app);
  }, 120_000);

  it('deploy: the first release serves from its URL with its healthy instances', async () => {
    write('v1');
    const d = await cli(['deploy', '--json']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.json.status).toBe('succeeded');
    expect(d.json.url).toMatch(t.url);
    url = d.json.url;
    rel.v1 = d.json.release;
    expect((await getJson(url + '/')).message).toBe('v1');
    await expectServing(rel.v1!);
  });

  it('logs: show a line the app printed', async () => {
    const l = await cli(['logs', '-n', '50', '--json']);
    expect(l.code, l.stderr).toBe(0);
    expect(l.json.some((line: any) => line.text.includes(`release ${rel.v1} `) && line.text.includes('listening on'))).toBe(true);
  });

  it('redeploy under a client loop: 0 failed requests, the new release serves from the same URL', async () => {
    write('v2');
    const [d, report] = await underLoad(() => cli(['deploy', '--json']));
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.json.url).toBe(url);
    rel.v2 = d.json.release;
    expect(rel.v2).not.toBe(rel.v1);
    expect(report.failed, failures(report)).toBe(0);
    expect(report.releases.get(rel.v1!)).toBeGreaterThan(0);
    expect(report.releases.get(rel.v2!)).toBeGreaterThan(0);
    expect((await getJson(url + '/')).message).toBe('v2');
    await expectServing(rel.v2!);
  });

  it('failed health gate: rolled back automatically, the previous release keeps serving, 0 failed requests', async () => {
    write('never-healthy', { env: { UNHEALTHY_AFTER_MS: '1' }, health: 'path: /health, interval: 1s, timeout: 2s, retries: 2, start_period: 1s' });
    const [d, report] = await underLoad(() => cli(['deploy', '--json']));
    expect(d.code, d.stdout + d.stderr).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.reason).toMatch(/did not become healthy/);
    expect(report.failed, failures(report)).toBe(0);
    expect([...report.releases.keys()]).toEqual([rel.v2]);
    expect((await cli(['history', '--json'])).json[0]).toMatchObject({ id: d.json.id, status: 'rolled_back' });
    await expectServing(rel.v2!);
  });

  it('failed health inside the watch window: switched back to the warm previous release, 0 failed requests', async () => {
    write('turns-unhealthy', { env: { UNHEALTHY_AFTER_MS: '3000' }, strategy: 'type: rolling, watch: 6s' });
    const [d, report] = await underLoad(() => cli(['deploy', '--json']));
    expect(d.code, d.stdout + d.stderr).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.error.code).toBe('WATCH_FAILED');
    expect(report.failed, failures(report)).toBe(0);
    expect(report.releases.get(d.json.release)).toBeGreaterThan(0);
    await expectServing(rel.v2!);
  });

  it('rollback: the previous good release serves again, without a build, 0 failed requests', async () => {
    write('v2');
    const [r, report] = await underLoad(() => cli(['rollback', '--json']));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.release).toBe(rel.v1);
    expect(report.failed, failures(report)).toBe(0);
    expect((await getJson(url + '/')).message).toBe('v1');
    const events = (await cli(['events', r.json.id, '--json'])).json;
    expect(events.some((e: any) => e.step === 'build')).toBe(false);
    await expectServing(rel.v1!);
  });

  it('restart: every instance is replaced by a new one, health-gated, 0 failed requests', async () => {
    const before = (await status()).instances.map((i: any) => i.id);
    const [r, report] = await underLoad(() => cli(['restart', '--json']));
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(report.failed, failures(report)).toBe(0);
    const after = await expectServing(rel.v1!);
    expect(after.instances.filter((i: any) => before.includes(i.id))).toEqual([]);
  });

  it('stop then start: the URL stops answering and status says stopped; start serves the same release again', async () => {
    const stop = await cli(['stop', '--json']);
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    const answer = await get(url + '/', 1000).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(answer);
    expect((await status()).state).toBe('stopped');
    const start = await cli(['start', '--json']);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(start.json.url).toBe(url);
    await expectServing(rel.v1!);
  });

  it('persist: a file written through the app survives a redeploy', async () => {
    const first = (await getJson(url + '/count')).count as number;
    expect((await getJson(url + '/count')).count).toBe(first + 1);
    write('v3');
    const d = await cli(['deploy', '--json']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    rel.v3 = d.json.release;
    expect(await getJson(url + '/count')).toMatchObject({ count: first + 2, release: rel.v3 });
  });

  it('secrets: the app sees the value; it is absent from the CLI output, status, events and logs', async () => {
    const value = `conformance-${t.type}-${Math.random().toString(36).slice(2)}`;
    const set = await setSecret(dir, 'API_TOKEN', value);
    expect(set.code, set.stderr).toBe(0);
    secretsDeclared = true;
    write('v4');
    const d = await cli(['deploy', '--json']);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    rel.v4 = d.json.release;
    expect((await getJson(url + '/secret-sha256')).sha256).toBe(sha256(value));
    const outputs = [set.stdout, set.stderr, d.stdout, d.stderr];
    for (const args of [['status', '--json'], ['events', '-n', '500', '--json'], ['logs', '-n', '200', '--json'], ['history', '--json']]) {
      const r = await cli(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      outputs.push(r.stdout, r.stderr);
    }
    expect(outputs.join('\n')).not.toContain(value);
  });

  it('scale 3: three healthy instances of the current release in status, 0 failed requests; back to 2', async () => {
    const [[up, at3, down], report] = await underLoad(async () => {
      const up = await cli(['scale', '3', '--json']);
      const at3 = await pollUntil(status, (s) => s.instances.filter((i: any) => i.routed && i.healthy && i.release === rel.v4).length === 3);
      const down = await cli(['scale', String(INSTANCES), '--json']);
      return [up, at3, down] as const;
    });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.json).toMatchObject({ from: INSTANCES, to: 3, release: rel.v4 });
    expect(at3.state).toBe('running');
    expect(at3.instances.filter((i: any) => i.routed && i.healthy && i.release === rel.v4)).toHaveLength(3);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(report.failed, failures(report)).toBe(0);
    await expectServing(rel.v4!);
  });

  it('abort: a canary paused for `gantry promote` is aborted, recorded rolled_back, the stable release serves, 0 failed requests', async () => {
    write('canary', { strategy: 'type: canary, steps: [50, 100], pause: manual, watch: 1s' });
    const deploying = cli(['deploy', '--json']);
    await waitUntilWaiting(dir, 'gantry promote');
    const [[ab, d], report] = await underLoad(async () => {
      const ab = await cli(['abort', '--json']);
      return [ab, await deploying] as const;
    });
    expect(ab.code, ab.stdout + ab.stderr).toBe(0);
    expect(d.code, d.stdout + d.stderr).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.error.code).toBe('ABORTED');
    expect(report.failed, failures(report)).toBe(0);
    expect((await cli(['history', '--json'])).json[0]).toMatchObject({ id: d.json.id, status: 'rolled_back' });
    await expectServing(rel.v4!);
  });

  /**
   * A deploy of `name` whose instances start slowly, aborted while its health gate waits: the abort
   * answers 0, the deploy 1 recorded aborted, no request failed, only the previous release answered and still does.
   */
  const abortWhileStarting = async (name: string, strategy: string, requestTimeoutMs?: number): Promise<void> => {
    write(name, { command: slowStart(20), strategy });
    const [[ab, d], report] = await underLoad(async () => {
      const deploying = cli(['deploy', '--json']);
      await untilWaitingForHealth(deploying, rel.v4!, false);
      const ab = await cli(['abort', '--json']);
      return [ab, await deploying] as const;
    }, requestTimeoutMs);
    expect(ab.code, ab.stdout + ab.stderr).toBe(0);
    expect(d.code, d.stdout + d.stderr).toBe(1);
    await expectAborted(d);
    expect(report.failed, failures(report)).toBe(0);
    expect([...report.releases.keys()]).toEqual([rel.v4]);
    await expectServing(rel.v4!);
  };

  it('abort a recreate while its new instances start: the previous release is started again, recorded rolled_back (aborted), 0 failed requests', async () => {
    await abortWhileStarting('abort-recreate', 'type: recreate, watch: 1s', HOLD_MS);
  });

  it('abort a blue-green rollout before its switch: the previous release keeps serving, recorded rolled_back (aborted), 0 failed requests', async () => {
    await abortWhileStarting('abort-blue-green', 'type: blue-green, watch: 1s, keep_previous: 1s');
  });

  it('scale 3 then deploy --force: the new release runs 3 healthy instances, 0 failed requests', async () => {
    write('v4');
    const [[up, d], report] = await underLoad(async () => {
      const up = await cli(['scale', '3', '--json']);
      return [up, await cli(['deploy', '--force', '--json'])] as const;
    });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.json.status).toBe('succeeded');
    rel.forced = d.json.release;
    expect(rel.forced).not.toBe(rel.v4);
    expect(report.failed, failures(report)).toBe(0);
    const st = await expectServing(rel.forced!, 3);
    expect(st.desired).toMatchObject({ instances: 3, by: 'scale' });
  });

  // The next two run a rolling deploy of 3 slow instances (one at a time) and interrupt it once its first new instance serves.
  const slowRolling = { command: slowStart(5), strategy: 'type: rolling, max_surge: 1, max_unavailable: 0, watch: 1s' };

  it('abort a rolling deploy of 3 instances while its 2nd/3rd new instance starts: the previous release serves, recorded rolled_back (aborted), 0 failed requests', async () => {
    write('abort-rolling', slowRolling);
    const [[ab, d], report] = await underLoad(async () => {
      const deploying = cli(['deploy', '--json']);
      await untilWaitingForHealth(deploying, rel.forced!, true);
      const ab = await cli(['abort', '--json']);
      return [ab, await deploying] as const;
    });
    expect(ab.code, ab.stdout + ab.stderr).toBe(0);
    expect(d.code, d.stdout + d.stderr).toBe(1);
    await expectAborted(d);
    expect(report.failed, failures(report)).toBe(0);
    // The aborted release did serve (it was caught mid-rollout), and no longer does.
    expect(report.releases.get(d.json.release)).toBeGreaterThan(0);
    await expectServing(rel.forced!, 3);
  });

  it('SIGINT to the deploying CLI mid-rollout: rolled back, exit 130, the previous release serves, 0 failed requests; back to 2', async () => {
    write('interrupted', slowRolling);
    const [d, report] = await underLoad(async () => {
      const { child, done } = spawnGantry(['deploy', '--json'], { cwd: dir });
      await untilWaitingForHealth(done, rel.forced!, true);
      expect(child.kill('SIGINT')).toBe(true);
      return done;
    });
    expect(d.signal).toBeNull();
    expect(d.code, d.stdout + d.stderr).toBe(130);
    await expectAborted(d);
    expect(report.failed, failures(report)).toBe(0);
    expect(report.releases.get(d.json.release)).toBeGreaterThan(0);
    await expectServing(rel.forced!, 3);
    // The scenarios that follow run 2 instances.
    const down = await cli(['scale', String(INSTANCES), '--json']);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    await expectServing(rel.forced!);
  });

  // The engine is SIGKILLed as it reaches a step (GANTRY_TEST_CRASH_AT, a test-only switch); the next command reconciles.
  const crashes = [
    { at: 'startInstance', next: 'status', outcome: 'rolled_back' },
    { at: 'switchTraffic#2', next: 'deploy', outcome: 'rolled_back' },
    { at: 'watch', next: 'status', outcome: 'completed' },
  ] as const;
  for (const c of crashes) {
    it(`SIGKILL at ${c.at}, then \`gantry ${c.next}\`: reconciled (${c.outcome}), the app serves, 0 failed requests across the crash`, async () => {
      const greeting = `crash-${c.at}`;
      write(greeting);
      const [[crashed, attempted, next, deployAfter], report] = await underLoad(async () => {
        const crashed = await cli(['deploy', '--json'], { GANTRY_TEST_CRASH_AT: c.at });
        const attempted = (await cli(['history', '--json'])).json[0];
        const next = c.next === 'status' ? await cli(['status', '--json']) : await cli(['deploy', '--json']);
        // Whatever the reconcile did, the following deploy brings the manifest's release in.
        const deployAfter = await cli(['deploy', '--json']);
        return [crashed, attempted, next, deployAfter] as const;
      });
      expect(crashed.code, crashed.stdout + crashed.stderr).toBe(128);
      expect(attempted.status).toBe('running');
      expect(next.code, next.stdout + next.stderr).toBe(0);
      const reconciled = c.next === 'status' ? next.json.targets[0].reconciled : next.json.reconciled;
      expect(reconciled).toHaveLength(1);
      expect(reconciled[0]).toMatchObject({ deployment: attempted.id, outcome: c.outcome });
      const record = (await cli(['history', '--json'])).json.find((h: any) => h.id === attempted.id);
      expect(record.status).toBe(c.outcome === 'completed' ? 'succeeded' : 'rolled_back');
      expect(record.reason).toMatch(/interrupted at/);
      expect(deployAfter.code, deployAfter.stdout + deployAfter.stderr).toBe(0);
      expect(report.failed, failures(report)).toBe(0);
      const serving = deployAfter.json.release as string;
      await expectServing(serving);
      expect((await getJson(url + '/')).message).toBe(greeting);
    });
  }
}
