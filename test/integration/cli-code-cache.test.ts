/**
 * The bundled CLI and local agent run with V8's code cache (src/core/code-cache.ts):
 * a cache is written on the first run, reused untouched after, and anything wrong with
 * it (damaged bytes, garbage, a bundle changed since) means "compile as if there were
 * none", never a crash or stale code. Runs a copy of the built CLI (bin/, dist/) in a
 * temp dir, so the caches it damages are its own. Needs `npm run build`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = resolve(import.meta.dirname, '..', '..');
let root: string;
let bundle: string;
let cache: string;
let app: string;

function gantry(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'gantry.js'), ...args], { cwd: app, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const header = (file = cache): { key: string; dataSha: string; ascii: boolean } => {
  const raw = readFileSync(file);
  return JSON.parse(raw.subarray(0, raw.indexOf(10)).toString('utf8')) as { key: string; dataSha: string; ascii: boolean };
};

let expected: string;

beforeAll(() => {
  expect(existsSync(join(REPO, 'dist', 'cli-bundle', 'main.cjs')), 'run `npm run build` first').toBe(true);
  root = mkdtempSync(join(tmpdir(), 'gantry-code-cache-'));
  mkdirSync(join(root, 'bin'));
  cpSync(join(REPO, 'bin', 'gantry.js'), join(root, 'bin', 'gantry.js'));
  cpSync(join(REPO, 'bin', 'package.json'), join(root, 'bin', 'package.json'));
  cpSync(join(REPO, 'package.json'), join(root, 'package.json'));
  // Timestamps kept: the bundle stays newer than tsc's output, as after a build. No cache copied.
  cpSync(join(REPO, 'dist'), join(root, 'dist'), { recursive: true, preserveTimestamps: true, filter: (p) => !p.endsWith('.cache') });
  symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'));
  bundle = join(root, 'dist', 'cli-bundle', 'main.cjs');
  // Each command has a cache of its own: `validate`'s.
  cache = `${bundle}.validate.cache`;
  app = join(root, 'app');
  cpSync(join(REPO, 'examples', 'hello-node'), app, { recursive: true, filter: (p) => !p.split('/').includes('.gantry') });
  // What the unbundled CLI says: every run below must say the same.
  const r = spawnSync(process.execPath, [join(REPO, 'dist', 'cli', 'main.js'), 'validate', '--json'], { cwd: app, encoding: 'utf8' });
  expect(r.status).toBe(0);
  expected = r.stdout;
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the CLI bundle and its code cache', () => {
  it('writes the cache on the first run of a command and reuses it untouched on the next', () => {
    expect(existsSync(cache)).toBe(false);
    expect(gantry('validate', '--json')).toMatchObject({ code: 0, stdout: expected });
    expect(header()).toMatchObject({ key: 'main.cjs.validate.cache', ascii: true });
    const before = statSync(cache);
    expect(gantry('validate', '--json')).toMatchObject({ code: 0, stdout: expected });
    const after = statSync(cache);
    // Not rewritten: V8 took it (a rejected cache is replaced at exit).
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    // Another command has a cache of its own, which leaves validate's alone.
    expect(gantry('plan', '--json').code).toBe(0);
    expect(header(`${bundle}.plan.cache`).key).toBe('main.cjs.plan.cache');
    expect(statSync(cache).mtimeMs).toBe(before.mtimeMs);
  });

  it('ignores a damaged cache (flipped bytes, garbage, a truncated file) and writes a good one', () => {
    if (!existsSync(cache)) expect(gantry('validate', '--json').code).toBe(0);
    const good = readFileSync(cache);
    // Release builds of V8 check no checksum of a code cache: damaged code reaches the interpreter unless Gantry's own hash stops it.
    const zeroed = Buffer.from(good);
    zeroed.fill(0, zeroed.length - 500);
    const flipped = Buffer.from(good);
    for (let i = Math.floor(flipped.length / 2); i < flipped.length / 2 + 1000; i++) flipped[i] = flipped[i]! ^ 0xff;
    for (const bad of [zeroed, flipped, Buffer.from('not a cache\n\x00\x01\x02'), good.subarray(0, 100), Buffer.alloc(0)]) {
      writeFileSync(cache, bad);
      expect(gantry('validate', '--json')).toMatchObject({ code: 0, stdout: expected, stderr: '' });
      expect(header().key).toBe('main.cjs.validate.cache');
      const raw = readFileSync(cache);
      expect(raw.length).toBeGreaterThan(1000);
    }
  });

  it('never runs code cached from another bundle, even one of the same size with its mtime put back', () => {
    expect(gantry('--help').code).toBe(0);
    const text = readFileSync(bundle, 'latin1');
    const from = 'Deploy an app described once';
    expect(text).toContain(from);
    const { mtime, atime } = statSync(bundle);
    writeFileSync(bundle, text.replace(from, 'DEPLOY an app described once'), 'latin1');
    utimesSync(bundle, atime, mtime);
    const r = gantry('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('DEPLOY an app described once');
    expect(r.stdout).not.toContain(from);
  });

  it('decodes a bundle that is not plain ASCII as UTF-8, and its cache says so', () => {
    const bytes = readFileSync(bundle);
    writeFileSync(bundle, Buffer.concat([bytes, Buffer.from('\n// caf\u00e9\n', 'utf8')]));
    try {
      expect(gantry('validate', '--json')).toMatchObject({ code: 0, stdout: expected });
      expect(header().ascii).toBe(false);
      expect(gantry('validate', '--json')).toMatchObject({ code: 0, stdout: expected });
    } finally {
      writeFileSync(bundle, bytes);
    }
  });

  it('runs the unbundled CLI when the bundle does not compile', () => {
    const text = readFileSync(bundle, 'latin1');
    writeFileSync(bundle, `${text}\n}}} not javascript (((`, 'latin1');
    try {
      expect(gantry('validate', '--json')).toMatchObject({ code: 0, stdout: expected });
    } finally {
      writeFileSync(bundle, text, 'latin1');
    }
  });

  it('gantry --version prints the version alone, as commander did', () => {
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(gantry('--version')).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(gantry('-V')).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(gantry('-f', 'gantry.yaml', '--version')).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('the bundled Docker client loads the parts it leaves outside (BuildKit session, ssh transport) from node_modules', () => {
    const text = readFileSync(join(REPO, 'dist', 'cli-bundle', 'main.cjs'), 'latin1');
    const outside = [...new Set([...text.matchAll(/require\("((?:dockerode|docker-modem)\/lib\/[a-z]+)"\)/g)].map((m) => m[1]!))].sort();
    expect(outside).toEqual(['docker-modem/lib/ssh', 'dockerode/lib/buildkit', 'dockerode/lib/session']);
    // Resolved from where the bundle is, as at run time: each is the function or object its caller expects.
    const req = createRequire(join(REPO, 'dist', 'cli-bundle', 'main.cjs'));
    expect(typeof req('dockerode/lib/session')).toBe('function');
    expect(typeof req('docker-modem/lib/ssh')).toBe('function');
    expect(typeof (req('dockerode/lib/buildkit') as { followProgress?: unknown }).followProgress).toBe('function');
  });
});

describe('the local agent bundle and its code cache', () => {
  /**
   * Start the copy's local agent as `AgentClient.ensure` does, wait for its agent.json, stop it by pid. Its proxy listens on
   * port 0 (the kernel's pick, held from the start): a port found free and passed on could be taken before the agent binds it.
   */
  async function startAndStopAgent(): Promise<void> {
    const dir = mkdtempSync(join(root, 'agent-'));
    const child = spawn(process.execPath, [join(root, 'dist', 'agent', 'launch.cjs'), '--dir', dir, '--host', '127.0.0.1', '--port', '0'], { stdio: 'ignore', env: { ...process.env, GANTRY_AGENT: '1' } });
    const exited = new Promise((res) => child.once('exit', res));
    try {
      let ready = false;
      for (let i = 0; i < 600 && !ready && child.exitCode === null; i++) {
        try {
          ready = (JSON.parse(readFileSync(join(dir, 'agent.json'), 'utf8')) as { pid: number }).pid === child.pid;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const why = child.exitCode === null ? 'no agent.json of this agent in time' : `the agent exited with code ${child.exitCode} before writing agent.json`;
      expect(ready, why).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }

  it('starts from the bundle, writes its cache, and starts again with it or with a damaged one', async () => {
    const agentCache = join(root, 'dist', 'agent', 'gantry-agent-local.cjs.agent.cache');
    expect(existsSync(agentCache)).toBe(false);
    await startAndStopAgent();
    expect(existsSync(agentCache)).toBe(true);
    await startAndStopAgent();
    const raw = readFileSync(agentCache);
    for (let i = raw.length - 500; i < raw.length; i++) raw[i] = 0;
    writeFileSync(agentCache, raw);
    await startAndStopAgent();
  });
});
