/**
 * Issue 11: persistent data, scaling and backups, with real processes, the
 * real Docker engine and real HTTP.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN, copyExample, gantry, killAgents } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp, removeAppVolumes } from '../helpers/docker.js';
import { getJson, pollLoop } from '../helpers/http.js';
import { pollUntil } from '../helpers/wait.js';

const dirs: Array<{ dir: string; app?: string }> = [];
afterAll(async () => {
  for (const { dir, app } of dirs) {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
    if (app && !baseImageProblem) {
      await cleanupApp(app);
      await removeAppVolumes(app);
    }
  }
});

function counterApp(target: 'process' | 'docker', extra = ''): { dir: string; app: string; write: (greeting: string) => void } {
  const dir = copyExample('hello-node');
  const app = `counter-${target}-${process.pid}`;
  dirs.push({ dir, app });
  const write = (greeting: string): void =>
    writeFileSync(join(dir, 'gantry.yaml'), [`app: ${app}`, 'run: { command: node server.js, instances: 1 }', `env: { GREETING: ${JSON.stringify(greeting)} }`, 'persist: [data]', 'strategy: { type: rolling, watch: 0s }', extra, 'targets:', `  t: { type: ${target} }`].join('\n'));
  write('v1');
  return { dir, app, write };
}

describe('persistent data survives deploys, rollback and restart', () => {
  for (const target of ['process', 'docker'] as const) {
    const name = `a counter in a persist path keeps counting on ${target}`;
    const skip = target === 'docker' ? baseImageProblem : undefined;
    (skip ? it.skip : it)(skip ? `${name} (skipped: ${skip})` : name, async () => {
      const { dir, write } = counterApp(target);
      let expected = 0;
      const bump = async (url: string): Promise<void> => {
        const r = await getJson(url + '/count');
        expected++;
        expect(r.count).toBe(expected);
      };
      const first = await gantry(['deploy', '--json'], { cwd: dir });
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const url = first.json.url;
      await bump(url);
      await bump(url);
      for (const v of ['v2', 'v3', 'v4']) {
        write(v);
        const d = await gantry(['deploy', '--json'], { cwd: dir });
        expect(d.code, d.stdout).toBe(0);
        await bump(url);
      }
      const rb = await gantry(['rollback', '--json'], { cwd: dir });
      expect(rb.code, rb.stdout).toBe(0);
      await bump(url);
      const rs = await gantry(['restart', '--json'], { cwd: dir });
      expect(rs.code, rs.stdout).toBe(0);
      await bump(url);
      if (target === 'process') {
        // The agent (proxy + supervisor) crashes: the next Gantry command brings the release back, data intact.
        const agents = join(dir, '.gantry/apps', readdirSync(join(dir, '.gantry/apps'))[0]!, 'agents');
        const info = JSON.parse(readFileSync(join(agents, readdirSync(agents)[0]!, 'agent.json'), 'utf8'));
        process.kill(info.pid, 'SIGKILL');
        await new Promise((r) => setTimeout(r, 300));
        const back = await gantry(['start', '--json'], { cwd: dir });
        expect(back.code, back.stdout).toBe(0);
        await bump(url);
        const shared = readdirSync(join(dir, '.gantry/apps')).map((a) => join(dir, '.gantry/apps', a, 'shared/data/counter.txt')).find((f) => existsSync(f));
        expect(readFileSync(shared!, 'utf8')).toBe(String(expected));
      }
    });
  }

  it('a persist path that is a symlink in the app is refused before anything changes', async () => {
    const { dir } = counterApp('process');
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/etc', join(dir, 'data'));
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code).not.toBe(0);
    expect(JSON.stringify(d.json)).toMatch(/symlink/);
  });
});

describe('scaling', () => {
  it('scale 4 then 1 under a client loop: 0 failed requests, status shows 4 then 1 healthy', async () => {
    const dir = copyExample('hello-node');
    dirs.push({ dir });
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code).toBe(0);
    const loop = pollLoop(first.json.url + '/');
    const up = await gantry(['scale', '4', '--json'], { cwd: dir });
    expect(up.code, up.stdout).toBe(0);
    expect(up.json).toMatchObject({ kind: 'scale', from: 2, to: 4, release: first.json.release });
    // Status probes each instance once as it answers (one probe can miss its timeout on a loaded machine): read until they serve, bounded.
    const servingCount = (t: any): number => t.instances.filter((i: any) => i.healthy && i.routed).length;
    const statusNow = async (): Promise<any> => (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    const at4 = await pollUntil(statusNow, (t) => servingCount(t) === 4);
    const down = await gantry(['scale', '1', '--json'], { cwd: dir });
    const report = await loop.stop();
    expect(down.code, down.stdout).toBe(0);
    const at1 = await pollUntil(statusNow, (t) => servingCount(t) === 1);
    expect(at4.instances.filter((i: any) => i.healthy && i.routed)).toHaveLength(4);
    expect(at1.instances.filter((i: any) => i.healthy && i.routed)).toHaveLength(1);
    expect(at1.instances).toHaveLength(1);
    expect(at1.desired.instances).toBe(1);
    expect(report.failed, report.errors.join('\n')).toBe(0);
    const ev = (await gantry(['events', '--json', '-n', '200'], { cwd: dir })).json;
    expect(ev.filter((e: any) => e.step === 'scale').map((e: any) => [e.data.from, e.data.to])).toEqual([
      [2, 4],
      [4, 1],
    ]);
    const bad = await gantry(['scale', 'lots'], { cwd: dir });
    expect(bad.code).toBe(2);
  });
});

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function treeHashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const f = join(d, n);
      const st = statSync(f, { throwIfNoEntry: false });
      if (st?.isDirectory()) walk(f);
      else if (st?.isFile()) out[f.slice(root.length)] = sha256(f);
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

describe('backups', () => {
  it('backup, wipe .gantry and the data, restore: releases, status and data are as before; rollback needs no rebuild', async () => {
    const { dir, write } = counterApp('process', 'secrets: [TOKEN]\nbackup: { before_deploy: true, keep: 2 }');
    const canary = `canary-${Math.random().toString(36).slice(2)}`;
    await new Promise<void>((res) => {
      const child = spawn(process.execPath, [BIN, 'secrets', 'set', 'TOKEN'], { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('close', () => res());
      child.stdin.end(canary);
    });
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout).toBe(0);
    for (let i = 0; i < 5; i++) await getJson(first.json.url + '/count');
    write('v2');
    const second = await gantry(['deploy', '--json'], { cwd: dir });
    expect(second.code).toBe(0);
    writeFileSync(join(dir, '.gantry/apps', readdirSync(join(dir, '.gantry/apps'))[0]!, 'shared/data/blob.bin'), Buffer.alloc(300_000, 7));

    const b = await gantry(['backup', '--json'], { cwd: dir });
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(b.json.includes_secrets).toBe(false);
    expect(gunzipSync(readFileSync(b.json.file)).includes(Buffer.from(canary))).toBe(false);
    const list = await gantry(['backups', '--json'], { cwd: dir });
    // one made before the second deploy (before_deploy), one by hand
    expect(list.json.length).toBe(2);
    expect(list.json[0].files.some((f: any) => f.path === 'state/state.db' && f.sha256.length === 64)).toBe(true);

    const releasesBefore = (await gantry(['releases', '--json'], { cwd: dir })).json;
    const statusBefore = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    const appDir = join(dir, '.gantry/apps', readdirSync(join(dir, '.gantry/apps'))[0]!);
    const dataBefore = treeHashes(join(appDir, 'shared'));
    const safe = mkdtempSync(join(tmpdir(), 'gantry-offsite-'));
    const archive = join(safe, 'backup.tar.gz');
    copyFileSync(b.json.file, archive);
    const secretsKept = join(safe, 'secrets');
    const { cpSync } = await import('node:fs');
    cpSync(join(dir, '.gantry/secrets'), secretsKept, { recursive: true });

    // Corrupt copies are refused and change nothing.
    const truncated = join(safe, 'truncated.tar.gz');
    writeFileSync(truncated, readFileSync(archive).subarray(0, Math.floor(statSync(archive).size / 2)));
    const t = await gantry(['restore', truncated, '--json'], { cwd: dir });
    expect(t.code).toBe(1);
    expect(t.json.error.code).toBe('BACKUP_INVALID');
    expect((await getJson(first.json.url + '/')).release).toBe(second.json.release);
    const newer = await gantry(['restore', archive, '--json'], { cwd: dir });
    expect(newer.code, newer.stdout).toBe(0); // nothing newer than the backup yet

    // Disaster: everything gone.
    expect((await gantry(['stop'], { cwd: dir })).code).toBe(0);
    rmSync(join(dir, '.gantry'), { recursive: true, force: true });
    // The age identity is kept apart from backups (like any key); it comes back with the secrets store.
    cpSync(secretsKept, join(dir, '.gantry/secrets'), { recursive: true });
    const r = await gantry(['restore', archive, '--json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect((await gantry(['releases', '--json'], { cwd: dir })).json).toEqual(releasesBefore);
    const statusAfter = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    expect(statusAfter).toMatchObject({ state: 'running', release: statusBefore.release, url: statusBefore.url });
    expect(treeHashes(join(appDir, 'shared'))).toEqual(dataBefore);
    expect((await getJson(first.json.url + '/count')).count).toBe(6);
    const rb = await gantry(['rollback', '--json'], { cwd: dir });
    expect(rb.code, rb.stdout).toBe(0);
    expect(rb.json.release).toBe(first.json.release);
    const events = (await gantry(['events', rb.json.id, '--json'], { cwd: dir })).json;
    expect(events.some((e: any) => e.step === 'build')).toBe(false);

    // A newer state is protected without --force.
    const older = await gantry(['restore', archive, '--json'], { cwd: dir });
    expect(older.code).toBe(1);
    expect(older.json.error.code).toBe('RESTORE_REFUSED');
  });
});

describe('autoscale', () => {
  it('a CPU-bound load raises the count within [min, max]; when it stops the count returns to min; every change has a reason', async () => {
    const dir = copyExample('hello-node');
    dirs.push({ dir });
    writeFileSync(
      join(dir, 'gantry.yaml'),
      ['app: hello-node', 'run: { command: node server.js, instances: 1 }', 'autoscale: { min: 1, max: 3, cpu_percent: 30, cooldown: 2s }', 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'),
    );
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout).toBe(0);
    const count = async (): Promise<number> => (await gantry(['status', '--json'], { cwd: dir })).json.targets[0].instances.filter((i: any) => i.routed && i.healthy).length;

    // Load: 4 clients burning 30 ms of CPU per request, bounded to 60 s.
    let loading = true;
    const deadline = Date.now() + 60_000;
    const clients = Array.from({ length: 4 }, async () => {
      while (loading && Date.now() < deadline) await getJson(d.json.url + '/burn?ms=30').catch(() => undefined);
    });
    let peak = 1;
    while (Date.now() < deadline && peak < 2) {
      await new Promise((r) => setTimeout(r, 1000));
      peak = Math.max(peak, await count());
    }
    loading = false;
    await Promise.all(clients);
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(peak).toBeLessThanOrEqual(3);

    let now = peak;
    const idleDeadline = Date.now() + 60_000;
    while (Date.now() < idleDeadline && now !== 1) {
      await new Promise((r) => setTimeout(r, 1000));
      now = await count();
    }
    expect(now).toBe(1);
    const st = (await gantry(['status', '--json'], { cwd: dir })).json.targets[0];
    const events = st.autoscale.events;
    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events[0].reason).toMatch(/autoscale: cpu \d+% per instance vs target 30%/);
    expect(events.at(-1).to).toBe(1);
    for (const e of events) {
      expect(e.to).toBeGreaterThanOrEqual(1);
      expect(e.to).toBeLessThanOrEqual(3);
    }
  });
});
