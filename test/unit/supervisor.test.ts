import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Backoff, followLog, LogFile, Supervisor, tailLines, type InstanceSpec } from '../../src/supervisor/index.js';

const NODE = process.execPath;
const LINE_RE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err|sys) /;

let dir: string;
let sup: Supervisor;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-sup-'));
  sup = new Supervisor({ backoffInitialMs: 50, backoffMaxMs: 200, backoffResetAfterMs: 10_000 });
});

afterEach(async () => {
  await sup.stopAll({ timeoutMs: 500 });
  rmSync(dir, { recursive: true, force: true });
});

function spec(id: string, command: string, extra: Partial<InstanceSpec> = {}): InstanceSpec {
  return { id, cwd: dir, command, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, logFile: join(dir, `${id}.log`), ...extra };
}

/** The file's text, or '' when it does not exist (the rotation may rename it between two calls). */
function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Alive and not a zombie (a container's init may never reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Backoff', () => {
  it('doubles up to the cap and resets after a long run', () => {
    const b = new Backoff(100, 1000, 5000);
    expect([b.next(10), b.next(10), b.next(10), b.next(10), b.next(10)]).toEqual([100, 200, 400, 800, 1000]);
    expect(b.next(6000)).toBe(100);
    expect(b.attempt).toBe(1);
  });
});

describe('Supervisor', () => {
  it('starts and stops a process', async () => {
    const st = sup.start(spec('a', `${NODE} -e "setInterval(() => {}, 1000)"`));
    expect(st.state).toBe('starting');
    expect(st.pid).toBeGreaterThan(0);
    await waitFor(() => sup.get('a')!.state === 'running');
    expect(alive(st.pid!)).toBe(true);
    const stopped = await sup.stop('a', { timeoutMs: 2000 });
    expect(stopped.state).toBe('stopped');
    expect(stopped.pid).toBeUndefined();
    expect(stopped.lastExit?.signal).toBe('SIGTERM');
    expect(alive(st.pid!)).toBe(false);
    expect(sup.list().map((s) => s.id)).toEqual(['a']);
    // Stopped ids can be started again; running ones cannot.
    sup.start(spec('a', 'sleep 5'));
    expect(() => sup.start(spec('a', 'sleep 5'))).toThrow(/already/);
  });

  it('captures stdout and stderr as timestamped lines', async () => {
    const s = spec('logs', `echo hello; echo oops 1>&2; printf 'no newline'; exec sleep 10`);
    sup.start(s);
    await waitFor(() => / err oops\n/.test(read(s.logFile)));
    await sup.stop('logs', { timeoutMs: 1000 });
    const lines = read(s.logFile).trimEnd().split('\n');
    for (const l of lines) expect(l).toMatch(LINE_RE);
    expect(lines.some((l) => / out hello$/.test(l))).toBe(true);
    expect(lines.some((l) => / err oops$/.test(l))).toBe(true);
    expect(lines.some((l) => / out no newline$/.test(l))).toBe(true);
    expect(lines.some((l) => / sys started pid \d+/.test(l))).toBe(true);
  });

  it('rotates the log at maxLogBytes and tailLines reads across the rotation', async () => {
    const s = spec('rot', `i=0; while [ $i -lt 300 ]; do echo "line $i"; i=$((i+1)); done; exec sleep 10`, { maxLogBytes: 4000 });
    sup.start(s);
    await waitFor(() => / out line 299\n/.test(read(s.logFile)));
    await sup.stop('rot', { timeoutMs: 1000 });
    expect(existsSync(`${s.logFile}.1`)).toBe(true);
    expect(statSync(s.logFile).size).toBeLessThanOrEqual(4000);
    expect(statSync(`${s.logFile}.1`).size).toBeLessThanOrEqual(4000);
    const outLines = (ls: string[]): string[] => ls.filter((l) => / out /.test(l)).map((l) => l.replace(LINE_RE, ''));
    // Ask for more lines than the current file holds, so tailLines reaches into <file>.1.
    const n = read(s.logFile).trimEnd().split('\n').length + 30;
    const tail = await tailLines(s.logFile, n);
    expect(tail).toHaveLength(n);
    const got = outLines(tail);
    expect(got.at(-1)).toBe('line 299');
    const nums = got.map((l) => Number(l.split(' ')[1]));
    for (let i = 1; i < nums.length; i++) expect(nums[i]).toBe(nums[i - 1]! + 1);
  });

  it('restarts a crashing process with increasing backoff', async () => {
    const restarts: Array<[string, number, number]> = [];
    const exits: Array<number | null> = [];
    sup.on('restart', (id: string, attempt: number, delayMs: number) => restarts.push([id, attempt, delayMs]));
    sup.on('exit', (_id: string, code: number | null) => exits.push(code));
    sup.start(spec('crash', 'exit 3'));
    await waitFor(() => restarts.length >= 4);
    expect(restarts.slice(0, 4)).toEqual([
      ['crash', 1, 50],
      ['crash', 2, 100],
      ['crash', 3, 200],
      ['crash', 4, 200],
    ]);
    expect(exits.slice(0, 4)).toEqual([3, 3, 3, 3]);
    const st = sup.get('crash')!;
    expect(st.restarts).toBeGreaterThanOrEqual(3);
    expect(st.lastExit?.code).toBe(3);
    expect(read(spec('crash', '').logFile)).toMatch(/sys restarting in 200ms \(attempt 3\)/);
  });

  it('stop during backoff cancels the pending restart', async () => {
    const slow = new Supervisor({ backoffInitialMs: 300, backoffMaxMs: 300 });
    let spawned = 0;
    slow.on('exit', () => spawned++);
    slow.start(spec('b', 'exit 1'));
    await waitFor(() => slow.get('b')!.state === 'backoff');
    const st = await slow.stop('b', { timeoutMs: 1000 });
    expect(st.state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 450));
    expect(spawned).toBe(1);
    expect(slow.get('b')!.restarts).toBe(0);
    expect(slow.get('b')!.state).toBe('stopped');
  });

  it('SIGKILLs a process that ignores SIGTERM after the timeout', async () => {
    const s = spec('stubborn', `exec ${NODE} -e "process.on('SIGTERM', () => console.log('ignoring')); console.log('ready'); setInterval(() => {}, 1000)"`);
    const { pid } = sup.start(s);
    await waitFor(() => / out ready\n/.test(read(s.logFile))); // (the 'started' line quotes the command)
    const t0 = Date.now();
    const st = await sup.stop('stubborn', { timeoutMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(st.lastExit?.signal).toBe('SIGKILL');
    expect(alive(pid!)).toBe(false);
    expect(read(s.logFile)).toMatch(/ out ignoring\n/);
    expect(read(s.logFile)).toMatch(/sys still running after 300ms: SIGKILL/);
  });

  it('kills grandchildren of the shell (process group)', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const s = spec('group', `sleep 1000 & echo $! > grandchild.pid; sleep 1000; echo never`);
    sup.start(s);
    await waitFor(() => read(pidFile).trim() !== '');
    const grandchild = Number(read(pidFile).trim());
    expect(alive(grandchild)).toBe(true);
    await sup.stop('group', { timeoutMs: 2000 });
    expect(alive(grandchild)).toBe(false);
  });

  it('runs the command through the shell as written, but never id or cwd', async () => {
    const weird = join(dir, 'dir; touch pwned-cwd');
    mkdirSync(weird);
    const marker = join(dir, 'ran');
    const s: InstanceSpec = {
      id: `x; touch ${join(dir, 'pwned-id')}`,
      cwd: weird,
      command: `echo first; touch "$MARKER"; pwd > where.txt; env > env.txt; exec sleep 10`,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MARKER: marker },
      logFile: join(dir, 'shell.log'),
    };
    sup.start(s);
    await waitFor(() => existsSync(join(weird, 'env.txt')) && read(join(weird, 'env.txt')).includes('MARKER'));
    expect(existsSync(marker)).toBe(true);
    expect(read(join(weird, 'where.txt')).trim()).toBe(weird);
    expect(existsSync(join(dir, 'pwned-id'))).toBe(false);
    expect(existsSync(join(dir, 'pwned-cwd'))).toBe(false);
    expect(existsSync(join(weird, 'pwned-cwd'))).toBe(false);
    // The environment is exactly the spec's (plus what sh itself sets, like PWD).
    const names = read(join(weird, 'env.txt'))
      .trim()
      .split('\n')
      .map((l) => l.split('=')[0]);
    expect(names).toContain('MARKER');
    expect(names).not.toContain('HOME');
    expect(names.filter((n) => !['PATH', 'MARKER', 'PWD', 'SHLVL', '_', 'OLDPWD'].includes(n!))).toEqual([]);
  });

  it('reports a spawn failure (missing cwd) and retries with backoff', async () => {
    const restarts: number[] = [];
    sup.on('restart', (_id: string, _a: number, d: number) => restarts.push(d));
    const s = spec('nocwd', 'true', { cwd: join(dir, 'missing') });
    sup.start(s);
    await waitFor(() => restarts.length >= 1);
    await sup.stop('nocwd', { timeoutMs: 500 });
    expect(read(s.logFile)).toMatch(/sys spawn failed/);
  });

  it('rejects bad specs and unknown ids', async () => {
    expect(() => sup.start(spec('', 'true'))).toThrow(/id/);
    expect(() => sup.start(spec('x', ''))).toThrow(/command/);
    await expect(sup.stop('nope', { timeoutMs: 10 })).rejects.toThrow(/no instance/);
  });
});

describe('logs', () => {
  it('tailLines returns the last n lines, [] for a missing file', async () => {
    const f = join(dir, 't.log');
    expect(await tailLines(f, 5)).toEqual([]);
    writeFileSync(f, Array.from({ length: 10_000 }, (_, i) => `row ${i}`).join('\n') + '\n');
    expect(await tailLines(f, 3)).toEqual(['row 9997', 'row 9998', 'row 9999']);
    expect(await tailLines(f, 0)).toEqual([]);
    expect((await tailLines(f, 20_000)).length).toBe(10_000);
    writeFileSync(`${f}.1`, 'old 1\nold 2\n');
    writeFileSync(f, 'new 1\n');
    expect(await tailLines(f, 2)).toEqual(['old 2', 'new 1']);
  });

  it('followLog follows appended lines across rotations until aborted', async () => {
    const f = join(dir, 'follow.log');
    const log = new LogFile(f, 300);
    log.line('out', 'before follow');
    await log.flush();
    const got: string[] = [];
    const ac = new AbortController();
    followLog(f, (l) => got.push(l.replace(LINE_RE, '')), ac.signal, { intervalMs: 20 });
    await new Promise((r) => setTimeout(r, 50));
    // At most one rotation between two polls (two would lose lines: a documented limit), however slow the machine.
    for (let i = 0; i < 40; i++) {
      log.line('out', `msg ${i}`);
      if (i % 5 === 0) {
        await log.flush();
        await waitFor(() => got.includes(`msg ${i}`));
      }
    }
    await log.flush();
    await waitFor(() => got.includes('msg 39'));
    expect(existsSync(`${f}.1`)).toBe(true);
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => `msg ${i}`));
    ac.abort();
    log.line('out', 'after abort');
    await log.close();
    await new Promise((r) => setTimeout(r, 60));
    expect(got).not.toContain('after abort');
  });
});
