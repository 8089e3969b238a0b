import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) {
    await gantry(['stop'], { cwd: d });
    killAgents(d);
  }
});

const gitEnv = { GIT_AUTHOR_NAME: 'Ada Tester', GIT_AUTHOR_EMAIL: 'ada@example.test', GIT_COMMITTER_NAME: 'Ada Tester', GIT_COMMITTER_EMAIL: 'ada@example.test' };
const git = (dir: string, ...args: string[]): string => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...gitEnv } }).trim();

/** hello-node with a build command that counts its runs, in a git repository with one commit. */
function gitApp(buildLog: string, extra = ''): string {
  const dir = copyExample('hello-node');
  dirs.push(dir);
  writeFileSync(
    join(dir, 'gantry.yaml'),
    `app: named-rel\nbuild:\n  command: "echo built >> ${buildLog}"\n${extra}run:\n  command: node server.js\n  instances: 1\nhealth:\n  path: /health\n  interval: 200ms\nenv:\n  GREETING: one\nstrategy:\n  type: rolling\n  watch: 500ms\ntargets:\n  local:\n    type: process\n`,
  );
  writeFileSync(join(dir, '.gitignore'), '.gantry/\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  return dir;
}

const builds = (log: string): number => readFileSync(log, 'utf8').split('\n').filter(Boolean).length;

describe('releases people can name (issue 20, points 4 and 5)', () => {
  it('versions, commit, branch, dirty and author; rollback by version, id prefix or commit; to the current release does nothing', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'gantry-builds-')), 'builds.log');
    const dir = gitApp(log);
    const head = git(dir, 'rev-parse', 'HEAD');
    const d1 = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d1.code, d1.stderr).toBe(0);
    expect(d1.json.version).toBe('v1');

    // An uncommitted change: plan and deploy say so; the release is recorded dirty.
    writeFileSync(join(dir, 'server.js'), readFileSync(join(dir, 'server.js'), 'utf8').replace("'hello from node'", "'changed'"));
    const plan = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan.json.dirty).toMatch(/uncommitted changes/);
    expect(plan.json.git).toMatchObject({ commit: head, branch: 'main', dirty: true });
    const d2 = await gantry(['deploy'], { cwd: dir });
    expect(d2.code, d2.stderr).toBe(0);
    expect(d2.stderr).toMatch(/uncommitted changes/);

    const rels = (await gantry(['releases', '--json'], { cwd: dir })).json;
    expect(rels.map((r: any) => r.version)).toEqual(['v2', 'v1']);
    expect(rels[1]).toMatchObject({ commit: head, branch: 'main', dirty: false, author: 'Ada Tester <ada@example.test>', current: false });
    expect(rels[0]).toMatchObject({ commit: head, dirty: true, current: true });
    const text = (await gantry(['releases'], { cwd: dir })).stdout;
    expect(text).toMatch(new RegExp(`v2 .*${head.slice(0, 10)}\\+dirty \\(main\\)`));

    // By version.
    const r1 = await gantry(['rollback', 'v1', '--json'], { cwd: dir });
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.json).toMatchObject({ release: rels[1].release, version: 'v1', status: 'succeeded' });
    // To the current release: says so, changes nothing, exit 0.
    const same = await gantry(['rollback', 'v1'], { cwd: dir });
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/v1 .* is already the current release: nothing to roll back/);
    const sameJson = await gantry(['rollback', rels[1].release.slice(0, 17), '--json'], { cwd: dir });
    expect(sameJson.json).toMatchObject({ unchanged: true, version: 'v1', status: 'succeeded' });
    // By id prefix, then by commit (the newest release of it: v2).
    expect((await gantry(['rollback', rels[0].release.slice(0, 22), '--json'], { cwd: dir })).json.version).toBe('v2');
    expect((await gantry(['rollback', 'v1', '--json'], { cwd: dir })).json.version).toBe('v1');
    expect((await gantry(['rollback', head.slice(0, 8), '--json'], { cwd: dir })).json.version).toBe('v2');
    const unknown = await gantry(['rollback', 'v99', '--json'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.json.error.code).toBe('RELEASE_NOT_FOUND');
  });

  it('build.from: commit builds a clean checkout of HEAD, leaving uncommitted changes out', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'gantry-builds-')), 'builds.log');
    const dir = gitApp(log);
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace('build:\n', 'build:\n  from: commit\n').replace('env:\n  GREETING: one\n', ''));
    git(dir, 'commit', '-q', '-am', 'build from commit');
    writeFileSync(join(dir, 'server.js'), readFileSync(join(dir, 'server.js'), 'utf8').replace("'hello from node'", "'uncommitted'"));
    writeFileSync(join(dir, 'untracked.txt'), 'not in the release');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stderr).toBe(0);
    expect((await getJson(`${d.json.url}/`)).message).toBe('hello from node');
    const rel = (await gantry(['releases', '--json'], { cwd: dir })).json[0];
    expect(rel).toMatchObject({ commit: git(dir, 'rev-parse', 'HEAD'), dirty: false });
    const plan = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan.json.dirty).toMatch(/not in this release \(build.from: commit/);
    expect(plan.json.nothing_to_do).toBe(true);
  });

  it('an env-only change reuses the artifact (hard links, no build) and is a release like any other', async () => {
    const log = join(mkdtempSync(join(tmpdir(), 'gantry-builds-')), 'builds.log');
    const dir = gitApp(log);
    const d1 = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d1.code, d1.stderr).toBe(0);
    expect(builds(log)).toBe(1);
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace('GREETING: one', 'GREETING: two'));
    const plan = await gantry(['plan', '--json'], { cwd: dir });
    expect(plan.json.reuses_artifact_of).toBe('v1');
    const d2 = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d2.code, d2.stderr).toBe(0);
    expect(d2.json.version).toBe('v2');
    expect(builds(log)).toBe(1);
    expect((await getJson(`${d2.json.url}/`)).message).toBe('two');
    const events = (await gantry(['events', '-n', '40', '--json'], { cwd: dir })).json;
    expect(events.map((e: any) => e.message).join('\n')).toMatch(/only env or secrets changed, so its artifact is reused/);
    const relDir = (id: string): string => join(dir, '.gantry', 'apps', 'named-rel', 'releases', id);
    expect(statSync(join(relDir(d2.json.release), 'server.js')).ino).toBe(statSync(join(relDir(d1.json.release), 'server.js')).ino);
    // A code change builds again.
    writeFileSync(join(dir, 'server.js'), `${readFileSync(join(dir, 'server.js'), 'utf8')}\n// changed\n`);
    expect((await gantry(['deploy', '--json'], { cwd: dir })).code).toBe(0);
    expect(builds(log)).toBe(2);
  });
});
