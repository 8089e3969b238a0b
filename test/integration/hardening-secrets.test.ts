/**
 * Issue 14, points 1-4 and 18: secrets and keys that leaked, and file names that are
 * not UTF-8. Real CLI, real processes, real git, real Docker.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BIN, copyExample, gantry, killAgents } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp, docker } from '../helpers/docker.js';

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups) await c().catch(() => undefined);
});

/** A name that is not valid UTF-8: "f\xff.txt". */
const BAD_NAME = Buffer.from([0x66, 0xff, 0x2e, 0x74, 0x78, 0x74]);
const IDENTITY_MARK = 'AGE-SECRET-KEY-1NESTEDIDENTITYMUSTNEVERLEAVE';

/** Lay out a monorepo-shaped app: an inner app's state and git metadata at depth, and a file with a byte name. */
function plantNestedState(dir: string): void {
  const inner = join(dir, 'services/api/.gantry');
  mkdirSync(join(inner, 'secrets/api/default'), { recursive: true });
  writeFileSync(join(inner, 'secrets/identity.txt'), `# created: test\n${IDENTITY_MARK}\n`);
  writeFileSync(join(inner, 'secrets/api/default/x.age'), 'age-encryption.org/v1 NESTED-AGE-FILE\n');
  writeFileSync(join(inner, 'state.db'), 'SQLite format 3\0NESTED-STATE-DB');
  writeFileSync(join(dir, 'services/api/index.js'), 'module.exports = 1;\n');
  mkdirSync(join(dir, 'services/api/.git'), { recursive: true });
  writeFileSync(join(dir, 'services/api/.git/HEAD'), 'ref: refs/heads/NESTED-GIT-HEAD\n');
  mkdirSync(join(dir, '.git'), { recursive: true });
  writeFileSync(join(dir, '.git/config'), '[core]\n# TOP-GIT-CONFIG\n');
  writeFileSync(Buffer.concat([Buffer.from(dir + '/'), BAD_NAME]), 'bytes-named file\n');
}

/** Every path under `root`, as bytes decoded latin1 (one char per byte), relative. */
function treeLatin1(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(Buffer.from(join(root, rel)), { encoding: 'buffer' })) {
    const r = rel ? `${rel}/${name.toString('latin1')}` : name.toString('latin1');
    out.push(r);
    const abs = Buffer.concat([Buffer.from(root + '/'), Buffer.from(r, 'latin1')]);
    try {
      if (readdirSync(abs)) out.push(...treeLatin1(root, r));
    } catch {
      /* not a folder */
    }
  }
  return out;
}

const leaked = (paths: string[]): string[] => paths.filter((p) => /(^|\/)(\.gantry|\.git)(\/|$)|identity\.txt|x\.age|state\.db$/.test(p));

describe('nested state and byte names: process target', () => {
  it('no .gantry or .git at any depth, nor the GANTRY_HOME dir, in the release, its hash or a backup; a non-UTF-8 name deploys', async () => {
    const dir = copyExample('hello-node');
    const home = join(dir, 'var/gantry-home');
    const env = { GANTRY_HOME: home };
    cleanups.push(async () => {
      await gantry(['stop'], { cwd: dir, env });
      const agents = join(home, 'apps/hs-nested/agents');
      for (const t of existsSync(agents) ? readdirSync(agents) : []) {
        try {
          process.kill(JSON.parse(readFileSync(join(agents, t, 'agent.json'), 'utf8')).pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    });
    writeFileSync(join(dir, 'gantry.yaml'), ['app: hs-nested', 'run: { command: node server.js, instances: 1 }', 'strategy: { watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
    plantNestedState(dir);
    // A top-level .gantry that is not the state dir (GANTRY_HOME points elsewhere) is still another state.
    mkdirSync(join(dir, '.gantry'), { recursive: true });
    writeFileSync(join(dir, '.gantry/state.db'), 'TOP-LEFTOVER');

    const d = await gantry(['deploy', '--json'], { cwd: dir, env });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const releaseDir = join(home, 'apps/hs-nested/releases', d.json.release);
    const tree = treeLatin1(releaseDir);
    expect(tree).toContain('services/api/index.js');
    expect(tree).toContain(BAD_NAME.toString('latin1'));
    expect(readFileSync(Buffer.concat([Buffer.from(releaseDir + '/'), BAD_NAME]), 'utf8')).toBe('bytes-named file\n');
    expect(leaked(tree)).toEqual([]);
    expect(tree.filter((p) => p.startsWith('var/'))).toEqual([]);

    // The source hash ignores them too: an inner app's state changing is no new release.
    writeFileSync(join(dir, 'services/api/.gantry/state.db'), 'SQLite format 3\0CHANGED');
    writeFileSync(join(dir, 'services/api/.git/HEAD'), 'ref: refs/heads/other\n');
    const again = await gantry(['deploy', '--json'], { cwd: dir, env });
    expect(again.code, again.stdout).toBe(0);
    expect(again.json.unchanged).toBe(true);

    const b = await gantry(['backup', '--json'], { cwd: dir, env });
    expect(b.code, b.stdout + b.stderr).toBe(0);
    const listed = execFileSync('tar', ['tzf', b.json.file], { encoding: 'latin1' }).split('\n').filter(Boolean);
    expect(listed.some((p) => p.includes('services/api/index.js'))).toBe(true);
    expect(leaked(listed.filter((p) => p !== 'state/state.db'))).toEqual([]);
    const raw = gunzipSync(readFileSync(b.json.file));
    for (const mark of [IDENTITY_MARK, 'NESTED-AGE-FILE', 'NESTED-STATE-DB', 'NESTED-GIT-HEAD', 'TOP-GIT-CONFIG', 'TOP-LEFTOVER']) expect(raw.includes(Buffer.from(mark)), mark).toBe(false);
  }, 120_000);
});

const skipDocker = baseImageProblem;
const itDocker = (name: string, fn: () => Promise<void>, timeout = 240_000) => (skipDocker ? it.skip(`${name} (skipped: ${skipDocker})`, fn) : it(name, fn, timeout));

/** Run a command in a throwaway container of `image`, bypassing its entrypoint. */
async function inImage(image: string, script: string): Promise<string> {
  return execFileSync('docker', ['run', '--rm', '--entrypoint', '/bin/sh', image, '-c', script], { encoding: 'latin1' });
}

describe('nested state and byte names: docker target', () => {
  itDocker('the image holds neither an inner .gantry nor .git, and holds the non-UTF-8 name byte for byte', async () => {
    const dir = copyExample('hello-node');
    const app = `hs-nested-dk-${process.pid}`;
    cleanups.push(async () => {
      await gantry(['stop'], { cwd: dir });
      killAgents(dir);
      if (!skipDocker) await cleanupApp(app);
    });
    writeFileSync(join(dir, 'gantry.yaml'), [`app: ${app}`, 'run: { command: node server.js, port: 3000 }', 'health: { path: /health, start_period: 15s }', 'strategy: { watch: 0s }', 'targets:', '  box: { type: docker }'].join('\n'));
    plantNestedState(dir);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const image = `gantry/${app}:${d.json.release}`;
    await docker.getImage(image).inspect();
    const files = (await inImage(image, 'find /app')).split('\n').filter(Boolean);
    expect(files).toContain('/app/services/api/index.js');
    expect(files).toContain(`/app/${BAD_NAME.toString('latin1')}`);
    expect(leaked(files)).toEqual([]);
    expect(await inImage(image, "cat /app/f$(printf '\\377').txt")).toBe('bytes-named file\n');
  });
});

/** `printf %s VALUE | gantry secrets set NAME`: the value travels on stdin only. */
function setSecret(cwd: string, name: string, value: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'secrets', 'set', name], { cwd, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('close', (code) => resolve(code ?? 1));
    child.stdin.end(value);
  });
}

/** The state database's bytes, its WAL included. */
function stateBytes(dir: string): Buffer {
  return Buffer.concat(['state.db', 'state.db-wal'].map((f) => join(dir, '.gantry', f)).filter((f) => existsSync(f)).map((f) => readFileSync(f)));
}

describe('secret values in captured output', () => {
  it('hook and health-command output are redacted in the terminal, --json, events and state.db', async () => {
    const dir = copyExample('hello-node');
    cleanups.push(async () => {
      await gantry(['stop'], { cwd: dir });
      killAgents(dir);
    });
    const value = `postgres://user:pw-${Math.random().toString(36).slice(2)}@db/app`;
    const short = 'abcd';
    const scratch = mkdtempSync(join(tmpdir(), 'gantry-redact-'));
    const write = (health: string): void =>
      writeFileSync(
        join(dir, 'gantry.yaml'),
        [
          'app: hs-redact',
          // The app writes its secret where the failing health command will print it from.
          `run: { command: ${JSON.stringify(`printf %s "$DB_URL" > ${scratch}/seen; exec node server.js`)}, instances: 1 }`,
          'secrets: [DB_URL, SHORT]',
          `hooks: { pre_deploy: ${JSON.stringify('echo "url=$DB_URL short=$SHORT"')} }`,
          `health: { ${health} }`,
          'strategy: { watch: 0s }',
          'targets: { local: { type: process } }',
        ].join('\n'),
      );
    write('path: /health, start_period: 20s');
    expect(await setSecret(dir, 'DB_URL', value)).toBe(0);
    expect(await setSecret(dir, 'SHORT', short)).toBe(0);

    const human = await gantry(['deploy'], { cwd: dir });
    expect(human.code, human.stdout + human.stderr).toBe(0);
    expect(human.stdout + human.stderr).toContain('url=[redacted:DB_URL]');
    const forced = await gantry(['deploy', '--force', '--json'], { cwd: dir });
    expect(forced.code, forced.stdout).toBe(0);

    // A failing health command that prints the value (a new release: the manifest changed).
    write(`command: ${JSON.stringify(`cat ${scratch}/seen; exit 1`)}, interval: 200ms, retries: 1, start_period: 1s`);
    const failed = await gantry(['deploy', '--json'], { cwd: dir });
    expect(failed.code, failed.stdout).not.toBe(0);
    expect(readFileSync(join(scratch, 'seen'), 'utf8')).toBe(value); // the value really was in that output
    expect(failed.stdout).toContain('[redacted:DB_URL]');

    const events = await gantry(['events', '--json'], { cwd: dir });
    expect(events.code).toBe(0);
    expect(events.stdout).toContain('url=[redacted:DB_URL] short=[redacted:SHORT]');
    for (const out of [human.stdout, human.stderr, forced.stdout, forced.stderr, failed.stdout, failed.stderr, events.stdout]) {
      expect(out).not.toContain(value);
      expect(out).not.toContain(`short=${short}`);
    }
    const db = stateBytes(dir);
    expect(db.length).toBeGreaterThan(0);
    expect(db.includes(Buffer.from(value))).toBe(false);
    expect(db.includes(Buffer.from(`short=${short}`))).toBe(false);
  }, 180_000);
});

/** A fresh git work tree holding the hello-node example without its manifest's state. */
function gitApp(): string {
  const dir = copyExample('hello-node');
  execFileSync('git', ['init', '-q', dir]);
  cleanups.push(async () => {
    await gantry(['stop'], { cwd: dir });
    killAgents(dir);
  });
  return dir;
}

const checkIgnored = (dir: string, path: string): boolean => {
  try {
    execFileSync('git', ['-C', dir, 'check-ignore', '-q', '--', path]);
    return true;
  } catch {
    return false;
  }
};

describe('the state dir and git', () => {
  it('init adds .gantry/ to .gitignore (created, appended, never twice)', async () => {
    const dir = gitApp();
    execFileSync('rm', [join(dir, 'gantry.yaml')]);
    const r = await gantry(['init', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^\.gantry\/$/m);
    mkdirSync(join(dir, '.gantry'));
    expect(checkIgnored(dir, '.gantry')).toBe(true);
    // An existing .gitignore without a final newline is appended to; a second init adds nothing.
    writeFileSync(join(dir, '.gitignore'), 'node_modules');
    expect((await gantry(['init', '--force'], { cwd: dir })).code).toBe(0);
    expect((await gantry(['init', '--force', '--json'], { cwd: dir })).code).toBe(0);
    const text = readFileSync(join(dir, '.gitignore'), 'utf8');
    expect(text.split('\n').filter((l) => l === 'node_modules')).toHaveLength(1);
    expect(text.split('\n').filter((l) => l.trim() === '.gantry/')).toHaveLength(1);
  }, 60_000);

  it('a command creating .gantry in a git work tree where it is not ignored warns once; never without git', async () => {
    const dir = gitApp();
    const first = await gantry(['status', '--json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toBeTruthy(); // the warning stays off stdout
    expect(first.stderr).toMatch(/warning: .*\.gantry is in the git work tree .* not ignored/);
    const second = await gantry(['status', '--json'], { cwd: dir });
    expect(second.stderr).not.toMatch(/warning/);
    // Ignored: silent.
    const ignored = gitApp();
    writeFileSync(join(ignored, '.gitignore'), '.gantry/\n');
    expect((await gantry(['status', '--json'], { cwd: ignored })).stderr).not.toMatch(/warning/);
    // No git on PATH: no warning, no failure.
    const nogit = gitApp();
    const r = await gantry(['status', '--json'], { cwd: nogit, env: { PATH: '/nonexistent' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
  }, 60_000);

  it('doctor fails when the secrets identity is tracked by git', async () => {
    const dir = gitApp();
    writeFileSync(join(dir, '.gitignore'), '.gantry/\n');
    expect(await setSecret(dir, 'API_TOKEN', 'doctor-canary-value')).toBe(0);
    const clean = await gantry(['doctor', '--json'], { cwd: dir });
    expect(clean.json.checks.find((c: any) => c.name === 'secrets identity not in git')).toMatchObject({ ok: true });
    execFileSync('git', ['-C', dir, 'add', '-f', '.gantry/secrets/identity.txt']);
    const bad = await gantry(['doctor', '--json'], { cwd: dir });
    expect(bad.code).toBe(1);
    const check = bad.json.checks.find((c: any) => c.name === 'secrets identity not in git');
    expect(check).toMatchObject({ ok: false });
    expect(check.detail).toContain('identity.txt is tracked by git');
    expect(check.hint).toMatch(/git rm --cached/);
    expect(bad.stdout).not.toContain('AGE-SECRET-KEY');
  }, 60_000);
});

/** Run argv in a container as `user`, returning exit code and output. */
async function execIn(id: string, cmd: string[], user?: string): Promise<{ code: number; out: string }> {
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
  const out = await new Promise<string>((res) =>
    exec.start({ hijack: true, stdin: false }, (_e: unknown, s: any) => {
      let buf = '';
      s.on('data', (x: Buffer) => (buf += x.toString('latin1')));
      s.on('end', () => res(buf));
    }),
  );
  return { code: (await exec.inspect()).ExitCode ?? -1, out };
}

describe('docker secrets_as_files', () => {
  itDocker('an image with USER 1000 reads /run/secrets/NAME; other users cannot; the files are on a tmpfs, not in docker diff', async () => {
    const dir = copyExample('hello-node');
    const app = `hs-secfiles-${process.pid}`;
    cleanups.push(async () => {
      await gantry(['stop'], { cwd: dir });
      killAgents(dir);
      if (!skipDocker) await cleanupApp(app);
    });
    writeFileSync(join(dir, 'Dockerfile'), ['FROM node:20-bookworm-slim', 'WORKDIR /app', 'COPY . .', 'USER 1000', 'CMD ["node", "server.js"]'].join('\n'));
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [`app: ${app}`, 'run: { command: node server.js, port: 3000 }', 'secrets: [API_TOKEN]', 'env: { HASH_SECRET: API_TOKEN }', 'health: { path: /health, start_period: 15s }', 'strategy: { watch: 0s }', 'targets:', '  box: { type: docker, secrets_as_files: true }'].join('\n'),
    );
    const canary = `canary-files-${Math.random().toString(36).slice(2)}`;
    expect(await setSecret(dir, 'API_TOKEN', canary)).toBe(0);
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const r = await fetch(d.json.url + '/secret-sha256').then((x) => x.json());
    const { createHash } = await import('node:crypto');
    expect(r).toMatchObject({ sha256: createHash('sha256').update(canary).digest('hex'), fromFile: true });

    const [c] = await docker.listContainers({ filters: { label: [`dev.gantry.app=${app}`, 'dev.gantry.role=app'] } });
    const info = await docker.getContainer(c!.Id).inspect();
    expect(JSON.stringify(info.Config)).not.toContain(canary);
    expect(info.HostConfig.Tmpfs).toHaveProperty('/run/secrets');
    const stat = await execIn(c!.Id, ['stat', '-c', '%u %a', '/run/secrets', '/run/secrets/API_TOKEN']);
    expect(stat.out).toContain('1000 500');
    expect(stat.out).toContain('1000 400');
    expect((await execIn(c!.Id, ['cat', '/run/secrets/API_TOKEN'], '1000')).out).toContain(canary);
    expect((await execIn(c!.Id, ['cat', '/run/secrets/API_TOKEN'], '1001')).code).not.toBe(0);
    const mounts = await execIn(c!.Id, ['cat', '/proc/mounts']);
    expect(mounts.out).toMatch(/ \/run\/secrets tmpfs /);
    const changes = ((await docker.getContainer(c!.Id).changes()) ?? []) as Array<{ Path: string }>;
    // Only the empty mount point itself may be in the writable layer, never a file under it.
    expect(changes.filter((x) => x.Path.startsWith('/run/secrets/'))).toEqual([]);
  });
});
