/**
 * What a release records of git (src/core/git.ts gitSource), against real repositories:
 * the commit, branch, dirtiness of the app's own directory and the author; nothing
 * outside a work tree or before a first commit.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitSource } from '../../src/core/git.js';

let root: string;
let repo: string;
const git = (dir: string, ...args: string[]): string => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'Ada', GIT_AUTHOR_EMAIL: 'ada@example.com', GIT_COMMITTER_NAME: 'Ada', GIT_COMMITTER_EMAIL: 'ada@example.com' } }).trim();

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'gantry-git-source-'));
  repo = join(root, 'repo');
  mkdirSync(join(repo, 'apps', 'web'), { recursive: true });
  mkdirSync(join(repo, 'apps', 'api'), { recursive: true });
  git(repo, 'init', '-q', '-b', 'main');
  writeFileSync(join(repo, 'apps', 'web', 'server.js'), 'web\n');
  writeFileSync(join(repo, 'apps', 'api', 'server.js'), 'api\n');
});

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('gitSource', () => {
  it('says nothing outside a work tree and before a first commit', async () => {
    const plain = join(root, 'plain');
    mkdirSync(plain);
    expect(await gitSource(plain)).toBeUndefined();
    expect(await gitSource(join(repo, 'apps', 'web'))).toBeUndefined();
  });

  it('records the commit, branch and author of a clean app directory', async () => {
    git(repo, 'add', '-A');
    git(repo, 'commit', '-q', '-m', 'first');
    expect(await gitSource(join(repo, 'apps', 'web'))).toEqual({ commit: git(repo, 'rev-parse', 'HEAD'), branch: 'main', dirty: false, author: 'Ada <ada@example.com>' });
  });

  it("counts only the app's own directory as dirty, minus what is excluded", async () => {
    writeFileSync(join(repo, 'apps', 'api', 'server.js'), 'api changed\n');
    expect((await gitSource(join(repo, 'apps', 'web')))?.dirty).toBe(false);
    mkdirSync(join(repo, 'apps', 'web', '.gantry'));
    writeFileSync(join(repo, 'apps', 'web', '.gantry', 'state'), 'x\n');
    expect((await gitSource(join(repo, 'apps', 'web'), ['.gantry']))?.dirty).toBe(false);
    writeFileSync(join(repo, 'apps', 'web', 'new.js'), 'untracked\n');
    expect((await gitSource(join(repo, 'apps', 'web'), ['.gantry']))?.dirty).toBe(true);
    rmSync(join(repo, 'apps', 'web', 'new.js'));
    git(repo, 'checkout', '-q', '--', 'apps/api/server.js');
  });

  it('has no branch on a detached HEAD, and works in a linked worktree (.git is a file there)', async () => {
    const head = git(repo, 'rev-parse', 'HEAD');
    const linked = join(root, 'linked');
    git(repo, 'worktree', 'add', '-q', '--detach', linked, head);
    expect(await gitSource(join(linked, 'apps', 'web'))).toEqual({ commit: head, branch: undefined, dirty: false, author: 'Ada <ada@example.com>' });
  });
});
