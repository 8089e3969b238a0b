/**
 * Issue 4 acceptance: every strategy rolls the example out over 3 instances
 * with 0 failed requests for a client loop; canary analysis aborts a bad
 * release at its first step; promote/abort drive a paused canary; hooks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents, waitUntilWaiting } from '../helpers/cli.js';
import { get, getJson, pollLoop } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
    killAgents(dir);
  }
});

function manifest(dir: string, strategy: string, env: Record<string, string> = {}, extra = ''): void {
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [
      'app: hello-node',
      'run:',
      '  command: node server.js',
      '  instances: 3',
      'health: { path: /health, start_period: 10s }',
      'env:',
      ...Object.entries({ GREETING: 'v', ...env }).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`),
      'strategy:',
      ...strategy.split('\n').map((l) => `  ${l}`),
      ...(strategy.includes('watch') ? [] : ['  watch: 0s']),
      extra,
      'targets:',
      '  local: { type: process }',
    ].join('\n'),
  );
}

function app(): string {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  return dir;
}

describe('strategies with 3 instances under a client loop', () => {
  const strategies: Record<string, string> = {
    recreate: 'type: recreate',
    rolling: 'type: rolling\nmax_surge: 1\nmax_unavailable: 0',
    'blue-green': 'type: blue-green\nkeep_previous: 2s',
    canary: 'type: canary\nsteps: [20, 60, 100]\npause: 1s\nanalysis: { max_error_rate: 0.05, min_requests: 10 }',
  };
  // One app serves 3 instances of a first release; each strategy then brings the next release in
  // (which strategy deployed the release being replaced does not matter to the one replacing it).
  let shared: Promise<{ dir: string; url: string }> | undefined;
  const sharedApp = () =>
    (shared ??= (async () => {
      const dir = app();
      manifest(dir, strategies.rolling!, { GREETING: 'one' });
      const first = await gantry(['deploy', '--json'], { cwd: dir });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      return { dir, url: first.json.url as string };
    })());
  for (const [name, strategy] of Object.entries(strategies)) {
    it(`${name}: 0 failed requests and the new release serves from the same URL`, async () => {
      const { dir, url } = await sharedApp();
      const previous = (await getJson(url + '/')).release as string;
      manifest(dir, strategy, { GREETING: `two-${name}` });
      const loop = pollLoop(url + '/');
      await loop.until((r) => r.releases.has(previous));
      const second = await gantry(['deploy', '--json'], { cwd: dir });
      await loop.until((r) => r.releases.has(second.json?.release));
      const report = await loop.stop();
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.json.status).toBe('succeeded');
      expect(report.failed, report.errors.join('\n')).toBe(0);
      expect(second.json.previous_release).toBe(previous);
      expect(report.releases.get(previous)).toBeGreaterThan(0);
      expect(report.releases.get(second.json.release)).toBeGreaterThan(0);
      expect(second.json.url).toBe(url);
      expect((await getJson(second.json.url + '/')).message).toBe(`two-${name}`);
      // Status probes each instance once as it answers: on a loaded machine one probe can miss its timeout, so read it until it holds (bounded).
      const servingNew = (t: any): any[] => t.instances.filter((i: any) => i.routed && i.healthy && i.release === second.json.release);
      const st = await pollUntil(async () => (await gantry(['status', '--json'], { cwd: dir })).json.targets[0], (t) => servingNew(t).length === 3);
      expect(servingNew(st), JSON.stringify(st.instances, null, 1)).toHaveLength(3);
      if (name === 'blue-green') {
        // All three new instances passed their health gate before the one switch that routed them.
        const ev = (await gantry(['events', second.json.id, '--json'], { cwd: dir })).json as Array<{ step?: string; message: string }>;
        const switchAt = ev.findIndex((e) => e.step === 'switchTraffic');
        const gated = ev.slice(0, switchAt).filter((e) => e.step === 'checkHealth' && / healthy after /.test(e.message)).map((e) => e.message.split(' ')[0]);
        expect(switchAt, JSON.stringify(ev.map((e) => e.message))).toBeGreaterThan(0);
        expect(new Set(gated)).toEqual(new Set(servingNew(st).map((i: any) => i.id)));
        expect(ev[switchAt]!.message).toBe(`route traffic to ${gated.join(', ')}`);
      }
      if (name === 'canary') expect(second.json.analysis.map((a: any) => a.percent)).toEqual([20, 60]);
    });
  }
});

describe('canary analysis', () => {
  it('a canary answering 500 on 20% of requests is aborted at its first step; traffic returns to stable', async () => {
    const dir = app();
    const strategy = 'type: canary\nsteps: [20, 100]\npause: 3s\nanalysis: { max_error_rate: 0.05, min_requests: 30 }';
    manifest(dir, strategy);
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code).toBe(0);
    manifest(dir, strategy, { FAIL_RATE: '0.2' });
    const loop = pollLoop(first.json.url + '/');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    const after = pollLoop(first.json.url + '/');
    await after.until((r) => r.ok + r.failed >= 10);
    const report = await loop.stop();
    const afterReport = await after.stop();
    expect(d.code).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.error.code).toBe('CANARY_FAILED');
    expect(d.json.analysis).toHaveLength(1);
    const a = d.json.analysis[0];
    expect(a.percent).toBe(20);
    expect(a.verdict).toBe('fail');
    expect(a.canary.errorRate).toBeGreaterThan(0.05);
    expect(a.canary.requests).toBeGreaterThanOrEqual(30);
    expect(a.stable.errorRate).toBe(0);
    // Only the canary's injected 500s failed, and only while it held 20%.
    expect(report.failed).toBeGreaterThan(0);
    expect(report.failed).toBeLessThan(report.ok * 0.2);
    expect(afterReport.failed).toBe(0);
    expect([...afterReport.releases.keys()]).toEqual([first.json.release]);
    const human = await gantry(['events', d.json.id], { cwd: dir });
    expect(human.stdout).toMatch(/canary failed its analysis at 20%/);
  });

  it('promote moves a manual canary on; abort sends traffic back to stable', async () => {
    const dir = app();
    const strategy = 'type: canary\nsteps: [30, 100]\npause: manual';
    manifest(dir, strategy, { GREETING: 'one' });
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code).toBe(0);

    const waitPaused = (): Promise<void> => waitUntilWaiting(dir, 'gantry promote');

    manifest(dir, strategy, { GREETING: 'two' });
    const deploying = gantry(['deploy', '--json'], { cwd: dir });
    await waitPaused();
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) seen.add((await getJson(first.json.url + '/')).message);
    expect(seen).toEqual(new Set(['one', 'two']));
    const p = await gantry(['promote', '--json'], { cwd: dir });
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const d = await deploying;
    expect(d.json.status).toBe('succeeded');
    expect((await getJson(first.json.url + '/')).message).toBe('two');

    manifest(dir, strategy, { GREETING: 'three' });
    const deploying2 = gantry(['deploy', '--json'], { cwd: dir });
    await waitPaused();
    const loop = pollLoop(first.json.url + '/');
    const ab = await gantry(['abort', '--json'], { cwd: dir });
    const d2 = await deploying2;
    const report = await loop.stop();
    expect(ab.code).toBe(0);
    expect(d2.code).toBe(1);
    expect(d2.json.status).toBe('rolled_back');
    expect(d2.json.error.code).toBe('ABORTED');
    expect(report.failed).toBe(0);
    expect((await getJson(first.json.url + '/')).message).toBe('two');
    // A timed pause is not waiting for anyone: promote is refused there (abort is not).
    manifest(dir, 'type: canary\nsteps: [30, 100]\npause: 30s\nanalysis: { min_requests: 1000000 }', { GREETING: 'four' });
    const timed = gantry(['deploy', '--json'], { cwd: dir });
    for (let i = 0; i < 100; i++) {
      const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
      if (st.deploying?.waiting?.includes('canary analysis')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const early = await gantry(['promote', '--json'], { cwd: dir });
    expect(early.code).toBe(1);
    expect(early.json.error.code).toBe('NOT_PAUSED');
    expect((await gantry(['abort', '--json'], { cwd: dir })).code).toBe(0);
    expect((await timed).json.status).toBe('rolled_back');
    const none = await gantry(['promote', '--json'], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.json.error.code).toBe('NOT_PAUSED');
  });
});

describe('traffic figures', () => {
  it('status --json and the agent\'s Prometheus endpoint report per-release requests, errors and latency', async () => {
    const dir = app();
    manifest(dir, 'type: rolling', { FAIL_RATE: '0.5' });
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code).toBe(0);
    let fails = 0;
    for (let i = 0; i < 40; i++) if ((await get(d.json.url + '/')).status === 500) fails++;
    const t = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    const rel = t.traffic.releases.find((r: any) => r.release === d.json.release);
    expect(rel.requests).toBeGreaterThanOrEqual(40);
    expect(rel.errors5xx).toBe(fails);
    expect(rel.p99Ms).toBeGreaterThan(0);
    const { readdirSync } = await import('node:fs');
    const agentDir = join(dir, '.gantry/apps/hello-node/agents', readdirSync(join(dir, '.gantry/apps/hello-node/agents'))[0]!);
    const info = JSON.parse(readFileSync(join(agentDir, 'agent.json'), 'utf8'));
    const text = (await get(`http://127.0.0.1:${info.adminPort}/metrics`)).body;
    expect(text).toContain(`gantry_proxy_errors_5xx_total{release="${d.json.release}"} ${fails}`);
    expect(text).toMatch(new RegExp(`gantry_proxy_requests_total\\{release="${d.json.release}"\\} \\d+`));
    expect(text).toContain('gantry_proxy_latency_ms{release=');
  });
});

describe('watch after the switch', () => {
  it('a release that turns unhealthy 5 s after the switch, inside a 15 s watch, is switched back with 0 failed requests', async () => {
    const dir = app();
    const strategy = 'type: rolling\nwatch: 15s';
    manifest(dir, strategy, { GREETING: 'stable' });
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout).toBe(0);
    manifest(dir, strategy, { GREETING: 'flaky', UNHEALTHY_AFTER_MS: '5000' });
    const loop = pollLoop(first.json.url + '/');
    const startedAt = Date.now();
    const deploying = gantry(['deploy', '--json'], { cwd: dir });
    // While the window lasts, status names what the deploy waits for.
    let waiting = '';
    for (let i = 0; i < 40 && !waiting.includes('watch window'); i++) {
      await new Promise((r) => setTimeout(r, 250));
      waiting = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].deploying?.waiting ?? '';
    }
    const d = await deploying;
    const report = await loop.stop();
    expect(waiting).toMatch(/watch window/);
    expect(d.code).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.error.code).toBe('WATCH_FAILED');
    expect(d.json.reason).toMatch(/turned unhealthy .* inside the 15s watch window/);
    expect(Date.now() - startedAt).toBeLessThan(15_000 + 10_000);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    expect(report.releases.get(d.json.release)).toBeGreaterThan(0);
    expect((await getJson(first.json.url + '/')).message).toBe('stable');
    const hist = (await gantry(['history', '--json'], { cwd: dir })).json;
    expect(hist[0]).toMatchObject({ id: d.json.id, status: 'rolled_back' });
  });
});

describe('hooks', () => {
  it('pre_deploy runs before traffic moves and a failure aborts the deploy; output lands in the events', async () => {
    const dir = app();
    manifest(dir, 'type: rolling', { GREETING: 'one' }, 'hooks:\n  pre_deploy: "echo migrating $GANTRY_RELEASE && test -f ok-to-migrate"\n  post_deploy: "echo deployed"');
    writeFileSync(join(dir, 'ok-to-migrate'), '');
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout).toBe(0);
    const ev = (await gantry(['events', first.json.id, '--json'], { cwd: dir })).json;
    expect(ev.some((e: any) => e.message === `pre_deploy: migrating ${first.json.release}`)).toBe(true);
    expect(ev.some((e: any) => e.message === 'post_deploy: deployed')).toBe(true);

    const { rmSync } = await import('node:fs');
    rmSync(join(dir, 'ok-to-migrate'));
    manifest(dir, 'type: rolling', { GREETING: 'two' }, 'hooks:\n  pre_deploy: "echo migrating && test -f ok-to-migrate"');
    const second = await gantry(['deploy', '--json'], { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.json.error.code).toBe('HOOK_FAILED');
    const ev2 = (await gantry(['events', second.json.id, '--json'], { cwd: dir })).json;
    expect(ev2.some((e: any) => e.step === 'startInstance')).toBe(false);
    expect((await getJson(first.json.url + '/')).message).toBe('one');
    expect(readFileSync(join(dir, 'gantry.yaml'), 'utf8')).toContain('pre_deploy');
  });
});
