/**
 * Issue 3 acceptance, end to end: the real CLI deploys the bundled examples as
 * real processes behind Gantry's real proxy, and the tests make real HTTP requests.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { get, getJson, pollLoop } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const dirs: string[] = [];
function example(name: string): string {
  const dir = copyExample(name);
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
    killAgents(dir);
  }
});

function setGreeting(dir: string, greeting: string): void {
  const file = join(dir, 'gantry.yaml');
  writeFileSync(file, readFileSync(file, 'utf8').replace(/GREETING: .*/, `GREETING: ${greeting}`));
}

describe('process target: deploy, status, logs', () => {
  for (const name of ['hello-node', 'hello-python']) {
    it(`deploys ${name}: succeeded, the url serves, status lists healthy instances, logs show the app's output`, async () => {
      const dir = example(name);
      const d = await gantry(['deploy', '--json'], { cwd: dir });
      expect(d.code, d.stderr).toBe(0);
      expect(d.json.status).toBe('succeeded');
      expect(d.json.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const body = await getJson(d.json.url + '/');
      expect(body.release).toBe(d.json.release);
      expect((await get(d.json.url + '/health')).status).toBe(200);

      const expected = name === 'hello-node' ? 2 : 1;
      // Status probes each instance once as it answers (one probe can miss its timeout on a loaded machine): read until they serve, bounded.
      const s = await pollUntil(() => gantry(['status', '--json'], { cwd: dir }), (r) => r.json?.targets?.[0]?.instances?.filter((i: any) => i.healthy).length === expected);
      expect(s.code).toBe(0);
      const t = s.json.targets[0];
      expect(t.state).toBe('running');
      expect(t.release).toBe(d.json.release);
      expect(t.url).toBe(d.json.url);
      expect(t.instances.filter((i: any) => i.healthy)).toHaveLength(expected);

      const l = await gantry(['logs', '-n', '20', '--json'], { cwd: dir });
      expect(l.code).toBe(0);
      expect(l.json.some((line: any) => line.text.includes(`release ${d.json.release}`))).toBe(true);
      const plain = await gantry(['logs', '-n', '20'], { cwd: dir });
      expect(plain.stdout).toContain('listening on');
    });
  }
});

describe('process target: zero-downtime redeploy, failed health, rollback', () => {
  const dir = example('hello-node');
  let first: any;
  let second: any;

  it('a second deploy of a changed app switches the URL with no failed request', async () => {
    first = (await gantry(['deploy', '--json'], { cwd: dir })).json;
    expect(first.status).toBe('succeeded');
    setGreeting(dir, 'second release');
    const loop = pollLoop(first.url + '/');
    await loop.until((r) => r.releases.has(first.release));
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    await loop.until((r) => r.releases.has(d.json?.release));
    const report = await loop.stop();
    expect(d.code, d.stderr).toBe(0);
    second = d.json;
    expect(second.status).toBe('succeeded');
    expect(second.url).toBe(first.url);
    expect(second.release).not.toBe(first.release);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    expect(report.ok).toBeGreaterThan(10);
    expect(report.releases.has(first.release)).toBe(true);
    expect(report.releases.has(second.release)).toBe(true);
    const body = await getJson(second.url + '/');
    expect(body).toMatchObject({ message: 'second release', release: second.release });
  });

  it('a release whose health check fails leaves the previous one serving and exits 1 with rolled_back', async () => {
    const file = join(dir, 'gantry.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(file, good.replace('path: /health', 'path: /missing-health').replace('start_period: 20s', 'start_period: 2s'));
    writeFileSync(join(dir, 'server.js'), readFileSync(join(dir, 'server.js'), 'utf8').replace("if (req.url === '/health')", "if (req.url === '/health') { } if (req.url === '/missing-health') { res.writeHead(500); res.end('broken'); return; } if (req.url === '/health')"));
    const loop = pollLoop(second.url + '/');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    const report = await loop.stop();
    expect(d.code).toBe(1);
    expect(d.json.status).toBe('rolled_back');
    expect(d.json.reason).toMatch(/did not become healthy/);
    expect(d.json.reason).toMatch(/500/);
    expect(d.json.logs.join('\n')).toContain('listening on');
    expect(report.failed, report.errors.join('\n')).toBe(0);
    expect((await getJson(second.url + '/')).release).toBe(second.release);
    const human = await gantry(['deploy'], { cwd: dir });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/rolled back/);
    expect(human.stdout).toMatch(/last log lines/);
    writeFileSync(file, good);
  });

  it('rollback returns to the previous release without rebuilding; releases marks the current one', async () => {
    const r = await gantry(['rollback', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.status).toBe('succeeded');
    expect(r.json.release).toBe(first.release);
    expect((await getJson(first.url + '/')).release).toBe(first.release);
    const ev = await gantry(['events', r.json.id, '--json'], { cwd: dir });
    expect(ev.json.some((e: any) => e.step === 'startInstance')).toBe(true);
    expect(ev.json.some((e: any) => e.step === 'build')).toBe(false);
    const rel = await gantry(['releases', '--json'], { cwd: dir });
    const current = rel.json.filter((x: any) => x.current);
    expect(current).toHaveLength(1);
    expect(current[0].release).toBe(first.release);
    expect(rel.json.map((x: any) => x.release)).toContain(second.release);
  });
});

describe('process target: lifecycle and supervision', () => {
  it('stop/start/restart survive the CLI exiting; a killed instance is restarted by the supervisor', async () => {
    const dir = example('hello-node');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.json.status).toBe('succeeded');

    const stop = await gantry(['stop', '--json'], { cwd: dir });
    expect(stop.code).toBe(0);
    await expect(get(d.json.url + '/', 1000)).rejects.toThrow();
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].state).toBe('stopped');

    const start = await gantry(['start', '--json'], { cwd: dir });
    expect(start.code, start.stderr).toBe(0);
    expect(start.json.url).toBe(d.json.url);
    expect((await getJson(d.json.url + '/')).release).toBe(d.json.release);

    const before = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances.map((i: any) => i.id);
    const loop = pollLoop(d.json.url + '/');
    const restart = await gantry(['restart', '--json'], { cwd: dir });
    const report = await loop.stop();
    expect(restart.code, restart.stderr).toBe(0);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    const after = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(after.state).toBe('running');
    expect(after.instances.map((i: any) => i.id).some((id: string) => before.includes(id))).toBe(false);

    // Kill one app instance from outside: the supervisor restarts it.
    const victim = after.instances[0];
    process.kill(victim.pid, 'SIGKILL');
    let healed: any;
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
      healed = st.instances.find((x: any) => x.id === victim.id);
      if (healed?.healthy && healed.restarts >= 1) break;
    }
    expect(healed.restarts).toBeGreaterThanOrEqual(1);
    expect(healed.healthy).toBe(true);
    expect(healed.pid).not.toBe(victim.pid);
  });
});

describe('process target: deploy lock', () => {
  it('two simultaneous deploys: one proceeds, the other is refused naming the holder; --wait queues', async () => {
    const dir = example('hello-node');
    const file = join(dir, 'gantry.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('command: node server.js', 'command: sleep 2 && exec node server.js'));
    const [a, b] = await Promise.all([gantry(['deploy', '--json'], { cwd: dir }), new Promise((r) => setTimeout(r, 400)).then(() => gantry(['deploy', '--json'], { cwd: dir }))]);
    const results = [a, b];
    const ok = results.filter((r) => r.code === 0);
    const refused = results.filter((r) => r.code === 1);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.json.error.code).toBe('LOCK_HELD');
    expect(refused[0]!.json.error.message).toMatch(/held by .*pid \d+ \(gantry deploy\) since \d{4}-/);

    setGreeting(dir, 'queued');
    // The queued deploy starts only once the first one holds the lock (a fixed delay races on a loaded machine).
    const first = gantry(['deploy', '--json'], { cwd: dir });
    const holding = async (): Promise<void> => {
      for (let i = 0; i < 300; i++) {
        const s = await gantry(['status', '--json'], { cwd: dir });
        if (s.json?.targets?.[0]?.deploying) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const [c1, c2] = await Promise.all([first, holding().then(() => gantry(['deploy', '--wait', '--json'], { cwd: dir }))]);
    expect(c1.code, c1.stderr).toBe(0);
    expect(c2.code, c2.stderr).toBe(0);
  });
});

describe('bad input and safety', () => {
  it('shell metacharacters in every free-text field execute nothing unintended', async () => {
    const dir = example('hello-node');
    const evil = '`touch m1`; $(touch m2) | touch m3 && touch m4 > m5 \'; touch m6';
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [
        'app: hello-node',
        'run:',
        '  command: node server.js',
        'health:',
        "  path: '/health?q=$(touch%20m7);x'",
        'env:',
        `  GREETING: ${JSON.stringify(evil)}`,
        `  OTHER: ${JSON.stringify('$(touch m8) `touch m9`')}`,
        'targets:',
        '  local: { type: process }',
      ].join('\n'),
    );
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect((await getJson(d.json.url + '/')).message).toBe(evil);
    for (const m of ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']) {
      expect(existsSync(join(dir, m)), m).toBe(false);
      expect(existsSync(join(dir, '.gantry/apps/hello-node/current', m)), m).toBe(false);
    }
    const bad = await gantry(['deploy', '--target', 'x;touch m10', '--json'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(existsSync(join(dir, 'm10'))).toBe(false);
  });

  it('an unknown target type, a missing manifest and a command that exits at once each get a one-line error with a hint', async () => {
    const dir = example('hello-node');
    const file = join(dir, 'gantry.yaml');
    const good = readFileSync(file, 'utf8');
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code).toBe(0);

    writeFileSync(file, good.replace('type: process', 'type: proces'));
    const unknown = await gantry(['deploy', '--json'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expect(JSON.stringify(unknown.json)).toMatch(/did you mean.*process/);

    const missing = await gantry(['deploy', '-f', 'nope.yaml'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no manifest at .*nope\.yaml/);
    expect(missing.stderr).toMatch(/gantry init/);

    writeFileSync(file, good.replace('command: node server.js', 'command: node -e "process.exit(3)"'));
    const crash = await gantry(['deploy', '--json'], { cwd: dir });
    expect(crash.code).toBe(1);
    expect(crash.json.status).toBe('rolled_back');
    expect(crash.json.reason).toMatch(/exited with code 3/);
    expect((await getJson(first.json.url + '/')).release).toBe(first.json.release);
  });

  it('a proxy port already in use is a clear error and the release is not left half-deployed', async () => {
    const dir = example('hello-node');
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    const file = join(dir, 'gantry.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('type: process', `type: process\n    port: ${port}`));
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    blocker.close();
    expect(d.code).toBe(1);
    expect(d.json.error.code).toBe('PORT_IN_USE');
    expect(d.json.error.hint).toMatch(/port/);
  });
});
