/**
 * Issue 20, point 9: on a terminal a live line (a build's tail, a health wait with
 * its time); piped, no escape codes at all (a build's colours stripped); a failure
 * printed once, on process and docker.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, copyExample, gantry } from '../helpers/cli.js';
import { appsCleanedAfterAll, baseImageProblem } from '../helpers/docker.js';

const apps = appsCleanedAfterAll();

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** Run the CLI under a pseudo-terminal (util-linux `script`): what a person at a terminal sees, escapes included. */
function underTty(args: string[], cwd: string): Promise<string> {
  return new Promise((resolve) => {
    const cmd = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const child = spawn('script', ['-q', '-e', '-c', cmd, '/dev/null'], { cwd, env: { ...process.env, NO_COLOR: '1', COLUMNS: '200' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const count = (text: string, what: string): number => text.split(what).length - 1;

function app(type: 'process' | 'docker', build: string): { dir: string; app: string } {
  const dir = copyExample('hello-node');
  const name = `d2b-prog-${type}-${process.pid}`;
  apps.push({ dir, app: name, docker: type === 'docker' });
  const lines = [`app: ${name}`, 'run: { command: node server.js, instances: 1, port: 3000 }', 'health: { path: /health, interval: 200ms, start_period: 8s }', 'strategy: { type: rolling, watch: 1s }', 'targets:', `  t: { type: ${type} }`];
  if (type === 'process') lines.splice(1, 0, `build: { command: ${JSON.stringify(build)} }`);
  else writeFileSync(join(dir, 'Dockerfile'), `FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY . .\nRUN ${build}\nCMD ["node", "server.js"]\n`);
  writeFileSync(join(dir, 'gantry.yaml'), lines.join('\n'));
  return { dir, app: name };
}

describe('progress on long steps (issue 20, point 9)', () => {
  (hasScript ? it : it.skip)('process, on a terminal: a live line with the build output and the health wait\'s time; piped: no escape codes', async () => {
    const { dir } = app('process', "for i in 1 2 3; do printf '\\033[32mbuilding part %s\\033[0m\\n' $i; sleep 0.4; done");
    const piped = await gantry(['deploy'], { cwd: dir });
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout + piped.stderr).not.toContain('\x1b');
    writeFileSync(join(dir, 'server.js'), `${readFileSync(join(dir, 'server.js'), 'utf8')}\n// again\n`);
    // The second deploy under a terminal: a previous release, so a watch window too.
    const tty = await underTty(['deploy'], dir);
    expect(tty).toContain('\r\x1b[2K');
    // eslint-disable-next-line no-control-regex
    expect(tty).toMatch(/\r\x1b\[2K\S build: building part 2/);
    expect(tty).toMatch(/waiting for health of \S+ \(http \/health\), \d+ s of \d+ s/);
    expect(tty).toMatch(/watch window \(the previous release stays warm\), \d+ s of 1 s/);
    expect(tty).toMatch(/deploy of .* succeeded/);
    // Passing build lines are for a terminal only.
    expect(piped.stderr).not.toMatch(/building part \d/);
  });

  for (const type of ['process', 'docker'] as const) {
    const skip = type === 'docker' ? baseImageProblem : undefined;
    (skip ? it.skip : it)(`${type}: a failed build is printed once, without its colours${skip ? ` (skipped: ${skip})` : ''}`, async () => {
      // The marker is computed by the shell: the command's own text (shown as the failing step) does not contain it.
      const { dir } = app(type, "printf '\\033[31mred\\033[0m\\n' && echo MARK-$((6*7)) && exit 3");
      const r = await gantry(['deploy'], { cwd: dir });
      expect(r.code).toBe(1);
      const all = r.stdout + r.stderr;
      expect(count(all, 'MARK-42')).toBe(1);
      expect(all).not.toContain('\x1b');
      expect(all).toContain('red');
      const j = await gantry(['deploy', '--json'], { cwd: dir });
      expect(j.json.error.code).toBe('BUILD_FAILED');
      expect(j.stderr).toBe('');
    }, 180_000);
  }
});
