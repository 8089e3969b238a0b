/**
 * Issue 14, points 9-11 with the real CLI, real processes and real files: output is
 * bounded however much a build prints; backups take the deploy lock and never archive
 * unfinished builds; a symlink leading out of the app no longer blocks backups or deploys.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectBackup } from '../../src/backup/index.js';
import { DEFAULTS } from '../../src/core/defaults.js';
import { copyExample, gantry, killAgents, type CliResult } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
  }
});

function app(name: string, yaml: (app: string) => string[]): { dir: string; app: string; write: (extra?: string[]) => void } {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  const appName = `${name}-${process.pid}`;
  const write = (extra: string[] = []): void => writeFileSync(join(dir, 'gantry.yaml'), [...yaml(appName), ...extra].join('\n') + '\n');
  write();
  return { dir, app: appName, write };
}

const size = (file: string): number => (existsSync(file) ? statSync(file).size : 0);
const out = (r: CliResult): number => Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr);

describe('bounded output (issue 14 point 9)', () => {
  it('a build printing one 20 MB line and failing, three times: CLI output, status, events, state.db and build logs stay small', async () => {
    const { dir, app: name } = app('bounded-build', (a) => [
      `app: ${a}`,
      // The callback makes node flush all 20 MB into the pipe before it exits.
      `build: { command: "node -e \\"process.stdout.write('x'.repeat(20e6), () => process.exit(1))\\"" }`,
      'run: { command: node server.js }',
      'targets:',
      '  local: { type: process }',
    ]);
    const runs = [await gantry(['deploy'], { cwd: dir }), await gantry(['deploy', '--json'], { cwd: dir }), await gantry(['deploy'], { cwd: dir })];
    for (const r of runs) {
      expect(r.code, r.stdout.slice(0, 2000) + r.stderr.slice(0, 2000)).toBe(1);
      expect(out(r)).toBeLessThan(64 * 1024);
    }
    expect(runs[0]!.stdout + runs[0]!.stderr).toMatch(/build command exited with code 1/);
    expect(runs[1]!.json.error?.code ?? runs[1]!.json.status).toBeTruthy();
    expect(runs[1]!.stdout).toMatch(/… \[truncated \d+ bytes\]/);

    const status = await gantry(['status', '--json'], { cwd: dir });
    expect(status.code).toBe(0);
    expect(Buffer.byteLength(status.stdout)).toBeLessThan(32 * 1024);
    const events = await gantry(['events', '--json'], { cwd: dir });
    expect(Buffer.byteLength(events.stdout)).toBeLessThan(256 * 1024);

    const state = join(dir, '.gantry', 'state.db');
    expect(size(state) + size(`${state}-wal`)).toBeLessThan(2 * 1024 * 1024);

    const releases = join(dir, '.gantry', 'apps', name, 'releases');
    const logs = readdirSync(releases).filter((f) => f.includes('.build.log'));
    expect(logs.length).toBeGreaterThan(0);
    let total = 0;
    for (const f of logs) {
      expect(size(join(releases, f)), f).toBeLessThanOrEqual(DEFAULTS.buildLogMaxBytes);
      total += size(join(releases, f));
    }
    expect(total).toBeLessThanOrEqual(3 * 2 * DEFAULTS.buildLogMaxBytes);
  });
});

describe('bounded hook output (issue 14 point 9)', () => {
  it('a pre_deploy hook printing one 20 MB line and failing: events, CLI output and state.db stay small', async () => {
    const { dir } = app('bounded-hook', (a) => [
      `app: ${a}`,
      'run: { command: node server.js }',
      `hooks: { pre_deploy: "node -e \\"process.stdout.write('y'.repeat(20e6), () => process.exit(3))\\"" }`,
      'targets:',
      '  local: { type: process }',
    ]);
    const r = await gantry(['deploy', '--json'], { cwd: dir });
    expect(r.code, r.stdout.slice(0, 2000)).toBe(1);
    expect(r.stdout).toMatch(/pre_deploy exited with code 3/);
    expect(out(r)).toBeLessThan(256 * 1024);
    const events = await gantry(['events', '--json'], { cwd: dir });
    expect(Buffer.byteLength(events.stdout)).toBeLessThan(256 * 1024);
    expect(events.stdout).toMatch(/… \[truncated \d+ bytes\]/);
    const state = join(dir, '.gantry', 'state.db');
    expect(size(state) + size(`${state}-wal`)).toBeLessThan(2 * 1024 * 1024);
  });
});

describe('backups and deploys (issue 14 point 10)', () => {
  it('backups in a loop while deploying: each succeeds without .partial entries or fails LOCK_HELD; --wait queues', async () => {
    const { dir } = app('bounded-lock', (a) => [
      `app: ${a}`,
      // A build that takes a while, so backups land while its `.partial` dir exists.
      'build: { command: "sleep 2 && echo built > built.txt" }',
      // And a rollout that holds the lock a while, so `status` sees it in progress (a loaded CI missed a quick one).
      'hooks: { pre_deploy: "sleep 3" }',
      'run: { command: node server.js }',
      'strategy: { type: rolling, watch: 0s }',
      'targets:',
      '  local: { type: process }',
    ]);
    const deploys: CliResult[] = [];
    let done = false;
    const deploying = (async () => {
      // --wait: a backup holds the same lock while it runs.
      for (let i = 0; i < 3; i++) deploys.push(await gantry(['deploy', '--force', '--wait', '--json'], { cwd: dir }));
    })().finally(() => (done = true));
    const backups: CliResult[] = [];
    while (!done && backups.length < 40) backups.push(await gantry(['backup', '--json'], { cwd: dir }));
    await deploying;

    let held = 0;
    let made = 0;
    for (const b of backups) {
      if (b.code === 0) {
        made++;
        const m = await inspectBackup(b.json.file);
        expect(m.entries.filter((e) => e.path.includes('.partial')).map((e) => e.path)).toEqual([]);
      } else {
        expect(b.json?.error?.code, b.stdout + b.stderr).toBe('LOCK_HELD');
        held++;
      }
    }
    expect(held, `${backups.length} backups, ${made} made`).toBeGreaterThan(0);
    expect(deploys.map((d) => d.code), deploys.map((d) => d.stdout.slice(0, 500)).join('\n')).toEqual([0, 0, 0]);

    // --wait queues behind a deploy instead of failing.
    const deploy = gantry(['deploy', '--force', '--wait', '--json'], { cwd: dir });
    // Polling stops once the deploy has ended: seeing it in progress is no longer possible then.
    let deployEnded = false;
    void deploy.then(() => (deployEnded = true));
    let waited: CliResult | undefined;
    for (let i = 0; i < 100 && !waited && !deployEnded; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const status = await gantry(['status', '--json'], { cwd: dir });
      if (status.json?.targets?.[0]?.deploying) waited = await gantry(['backup', '--wait', '--json'], { cwd: dir });
    }
    expect((await deploy).code).toBe(0);
    expect(waited, 'the deploy was never seen in progress').toBeDefined();
    expect(waited!.code, waited!.stdout + waited!.stderr).toBe(0);
    expect((await inspectBackup(waited!.json.file)).entries.some((e) => e.path.includes('.partial'))).toBe(false);
  }, 300_000);
});

describe('a symlink leading out of the app (issue 14 point 11)', () => {
  it('is kept as a link: pre-deploy backups and deploys work, restore brings the link back; a failed pre-deploy backup says what to do', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'gantry-outside-'));
    writeFileSync(join(outside, 'notes.txt'), 'lives outside the app');
    const { dir, write } = app('bounded-link', (a) => [`app: ${a}`, 'run: { command: node server.js }', 'strategy: { type: rolling, watch: 0s }', 'backup: { before_deploy: true, keep: 5 }', 'targets:', '  local: { type: process }']);
    symlinkSync(outside, join(dir, 'ext'));
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    write(['env: { GREETING: v2 }']);
    const second = await gantry(['deploy', '--json'], { cwd: dir });
    expect(second.code, second.stdout + second.stderr).toBe(0); // the backup before it held the release's link

    const list = (await gantry(['backups', '--json'], { cwd: dir })).json;
    expect(list).toHaveLength(1);
    const m = await inspectBackup(list[0].file);
    const link = m.entries.find((e) => e.path.endsWith(`/${first.json.release}/ext`));
    expect(link).toMatchObject({ type: 'symlink', link: outside, outside: true });
    expect(m.entries.some((e) => e.path.endsWith('notes.txt'))).toBe(false);

    // The link gone from the app, a kept release still holds it: deploys go on.
    rmSync(join(dir, 'ext'));
    write(['env: { GREETING: v3 }']);
    const third = await gantry(['deploy', '--json'], { cwd: dir });
    expect(third.code, third.stdout + third.stderr).toBe(0);

    // Restore recreates the link as a link.
    const restored = await gantry(['restore', list[0].file, '--force', '--json'], { cwd: dir });
    expect(restored.code, restored.stdout + restored.stderr).toBe(0);
    const appDir = join(dir, '.gantry', 'apps', readdirSync(join(dir, '.gantry', 'apps'))[0]!);
    const back = join(appDir, 'releases', first.json.release, 'ext');
    expect(lstatSync(back).isSymbolicLink()).toBe(true);
    expect(readlinkSync(back)).toBe(outside);
    expect(readdirSync(outside)).toEqual(['notes.txt']);

    // A pre-deploy backup that cannot be written stops the deploy and says what to do.
    rmSync(join(dir, '.gantry', 'backups'), { recursive: true, force: true });
    writeFileSync(join(dir, '.gantry', 'backups'), 'not a folder');
    write(['env: { GREETING: v4 }']);
    const blocked = await gantry(['deploy', '--json'], { cwd: dir });
    expect(blocked.code).toBe(1);
    expect(blocked.json.error.message).toMatch(/backup before deploy failed, so nothing was deployed/);
    expect(blocked.json.error.hint).toMatch(/backup\.before_deploy: false/);
    rmSync(outside, { recursive: true, force: true });
  });
});
