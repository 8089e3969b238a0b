/**
 * What git says about an app's directory: the commit, branch, dirty flag and
 * author a release is made from, and a clean copy of HEAD (`build.from: commit`).
 * git runs with argv arrays only; nothing reaches a shell.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
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

/**
 * Whether `dir` may be in a git work tree: it or a parent holds `.git` (a directory, or a
 * file for worktrees and submodules), or GIT_DIR says where one is. Outside one, git is
 * not asked at all: starting a process costs a command ≈ 20 ms of its main thread.
 */
function mayBeInWorkTree(dir: string): boolean {
  if (process.env.GIT_DIR) return true;
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

/** The commit of HEAD and its state, or undefined outside a git work tree (or without git, or before a first commit). */
export async function gitSource(dir: string, excluded: string[] = []): Promise<GitSource | undefined> {
  if (!mayBeInWorkTree(dir)) return undefined;
  // Two calls side by side: status (porcelain v2 with its branch header) says the commit, the branch
  // and whether anything under this directory is uncommitted (an app in a monorepo: only its
  // directory counts, and Gantry's own state never makes it dirty); log says the author.
  const [status, author] = await Promise.all([
    gitAsync(dir, ['status', '--porcelain=v2', '--branch', '--untracked-files=normal', '--', '.', ...excluded.map((p) => `:(exclude)${p}`)]).catch(() => undefined),
    gitAsync(dir, ['log', '-1', '--format=%an <%ae>', 'HEAD']).then(
      (out) => out || undefined,
      () => undefined,
    ),
  ]);
  // Not a work tree (or no git) fails the status; before a first commit its oid is "(initial)".
  if (status === undefined) return undefined;
  const lines = status.split('\n');
  const header = (name: string): string | undefined => lines.find((l) => l.startsWith(`# branch.${name} `))?.slice(`# branch.${name} `.length);
  const commit = header('oid');
  if (!commit || !/^[0-9a-f]{40,64}$/.test(commit)) return undefined;
  const head = header('head');
  return { commit, branch: head && head !== '(detached)' ? head : undefined, dirty: lines.some((l) => l !== '' && !l.startsWith('# ')), author };
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
