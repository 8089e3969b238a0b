/**
 * What git says about an app's directory: the commit, branch, dirty flag and
 * author a release is made from, and a clean copy of HEAD (`build.from: commit`).
 * git runs with argv arrays only; nothing reaches a shell.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, rmSync } from 'node:fs';
import { GantryError } from './errors.js';

const execFileAsync = promisify(execFile);

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

/** git without blocking the event loop (a server runs other requests meanwhile). */
async function gitAsync(dir: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', ['-C', dir, ...args], { encoding: 'utf8', timeout: 15_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** The commit of HEAD and its state, or undefined outside a git work tree (or without git, or before a first commit). */
export async function gitSource(dir: string, excluded: string[] = []): Promise<GitSource | undefined> {
  let commit: string | undefined;
  try {
    // One call for both: it fails outside a work tree and before a first commit.
    const [inside, head] = (await gitAsync(dir, ['rev-parse', '--is-inside-work-tree', 'HEAD'])).split('\n');
    if (inside !== 'true' || !head) return undefined;
    commit = head;
  } catch {
    return undefined;
  }
  const safe = (args: string[]): Promise<string | undefined> => gitAsync(dir, args).then((out) => out || undefined, () => undefined);
  // Independent reads: side by side.
  const [branch, status, author] = await Promise.all([
    safe(['symbolic-ref', '--short', '-q', 'HEAD']),
    // Only this directory counts (an app in a monorepo), and Gantry's own state never makes it dirty.
    safe(['status', '--porcelain', '--untracked-files=normal', '--', '.', ...excluded.map((p) => `:(exclude)${p}`)]),
    safe(['log', '-1', '--format=%an <%ae>', 'HEAD']),
  ]);
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
