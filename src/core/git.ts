/**
 * What git says about an app's directory: the commit, branch, dirty flag and
 * author a release is made from, and a clean copy of HEAD (`build.from: commit`).
 * git runs with argv arrays only; nothing reaches a shell.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { GantryError } from './errors.js';

export interface GitSource {
  commit: string;
  branch?: string;
  /** Uncommitted changes (tracked or untracked, not ignored) under the app's directory. */
  dirty: boolean;
  author?: string;
}

function git(dir: string, args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000, maxBuffer: 16 * 1024 * 1024 }).trim();
}

/** The commit of HEAD and its state, or undefined outside a git work tree (or without git, or before a first commit). */
export function gitSource(dir: string, excluded: string[] = []): GitSource | undefined {
  let commit: string;
  try {
    if (git(dir, ['rev-parse', '--is-inside-work-tree']) !== 'true') return undefined;
    commit = git(dir, ['rev-parse', 'HEAD']);
  } catch {
    return undefined;
  }
  const safe = (args: string[]): string | undefined => {
    try {
      return git(dir, args) || undefined;
    } catch {
      return undefined;
    }
  };
  const branch = safe(['symbolic-ref', '--short', '-q', 'HEAD']);
  // Only this directory counts (an app in a monorepo), and Gantry's own state never makes it dirty.
  const status = safe(['status', '--porcelain', '--untracked-files=normal', '--', '.', ...excluded.map((p) => `:(exclude)${p}`)]);
  const author = safe(['log', '-1', '--format=%an <%ae>', 'HEAD']);
  return { commit, branch, dirty: Boolean(status), author };
}

/**
 * Write a clean copy of HEAD's tree of `dir` (the app's folder in its repository)
 * into `dest`: `git archive HEAD:<prefix>` then extracted with the tar package.
 * What is uncommitted (changed or untracked) is not in it.
 */
export async function checkoutHead(dir: string, dest: string): Promise<void> {
  let prefix: string;
  try {
    prefix = git(dir, ['rev-parse', '--show-prefix']);
    git(dir, ['rev-parse', '--verify', 'HEAD']);
  } catch (e) {
    throw new GantryError('BUILD_FAILED', `build.from: commit needs a git work tree with a commit at ${dir}: ${(e as Error).message.split('\n')[0]}`, 'commit the app (git init && git add -A && git commit), or remove build.from to build from the working tree');
  }
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const archive = `${dest}.tar`;
  try {
    execFileSync('git', ['-C', dir, 'archive', '--format=tar', '-o', archive, `HEAD:${prefix}`], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    const { x } = await import('tar');
    await x({ file: archive, cwd: dest, preservePaths: false });
  } finally {
    rmSync(archive, { force: true });
  }
}
