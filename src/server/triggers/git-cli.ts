import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { SHA_RE } from './push-payload.js';

/**
 * The git CLI, always as an argv array (execFile, never a shell), with everything that could
 * make it prompt, run a foreign transport or read a hook template turned off. URLs and refs
 * come after `--` so none can be taken for an option.
 */
const GIT_ENV = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '',
  SSH_ASKPASS: '',
  GIT_CONFIG_NOSYSTEM: '1',
  // ssh: never ask about an unknown host key (it fails instead).
  GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
};
const GIT_CONFIG = ['-c', 'protocol.ext.allow=never', '-c', 'core.hooksPath=/dev/null', '-c', 'advice.detachedHead=false'];

/** A git URL must be one argument and look like one: no option, no control character. */
export function checkRepoUrl(url: string): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > 2048 || url.startsWith('-') || hasControlChar(url)) {
    throw new GantryError('USAGE', `not a usable git repository url: ${JSON.stringify(redactUrl(String(url)).slice(0, 200))}`, 'give an https://, ssh://, git:// or file:// url, or user@host:path');
  }
  return url;
}

function hasControlChar(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** A branch name as git accepts it (git check-ref-format, simplified and stricter). */
export function checkBranch(branch: string): string {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._/-]{0,254}$/.test(branch) || branch.includes('..') || branch.includes('//') || branch.endsWith('/') || branch.endsWith('.lock') || branch.endsWith('.')) {
    throw new GantryError('USAGE', `not a usable branch name: ${JSON.stringify(branch.slice(0, 100))}`, 'letters, digits, ".", "_", "-" and "/" (e.g. main, release/1.2)');
  }
  return branch;
}

/** user:password@ in a URL never reaches a message or a log. */
export function redactUrl(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');
}

export function runGit(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...GIT_CONFIG, ...args],
      { cwd: opts.cwd, timeout: opts.timeoutMs ?? DEFAULTS.gitTrigger.fetchTimeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...GIT_ENV }, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'git is not installed' : (err as { killed?: boolean }).killed ? 'timed out' : stderr.trim().split('\n').slice(-3).join(' / ') || err.message;
        reject(new GantryError('GIT_FETCH_FAILED', `git ${args[0]} failed: ${redactUrl(why)}`, 'check the repository url, that the commit exists there, and that this server may read it'));
      },
    );
  });
}

export interface FetchCommitOptions {
  /** Where the fresh directory is made (default: the OS temp dir). */
  parentDir?: string;
  /** The ref the commit was pushed to: fetched in full when the remote refuses to serve a commit by its id. */
  ref?: string;
  timeoutMs?: number;
}

/**
 * The tree of `commit` from `repoUrl`, checked out (detached) in a fresh directory that this
 * returns; the caller owns the directory. `git init` + `git fetch --depth 1 -- <url> <sha>` +
 * `git checkout`; HEAD is checked to be exactly that commit.
 */
export async function fetchCommit(repoUrl: string, commit: string, opts: FetchCommitOptions = {}): Promise<string> {
  checkRepoUrl(repoUrl);
  if (typeof commit !== 'string' || !SHA_RE.test(commit)) throw new GantryError('USAGE', `not a commit id: ${JSON.stringify(String(commit).slice(0, 64))}`, 'a full 40-hex git sha');
  const timeoutMs = opts.timeoutMs ?? DEFAULTS.gitTrigger.fetchTimeoutMs;
  const dir = await mkdtemp(join(opts.parentDir ?? tmpdir(), 'gantry-git-'));
  try {
    await runGit(['init', '-q', dir], { timeoutMs });
    try {
      await runGit(['fetch', '-q', '--no-tags', '--depth', '1', '--', repoUrl, commit], { cwd: dir, timeoutMs });
    } catch (e) {
      // Some servers only serve advertised refs: fetch the pushed branch and find the commit in it.
      if (!opts.ref?.startsWith('refs/heads/')) throw e;
      checkBranch(opts.ref.slice('refs/heads/'.length));
      await runGit(['fetch', '-q', '--no-tags', '--', repoUrl, opts.ref], { cwd: dir, timeoutMs });
    }
    await runGit(['checkout', '-q', '--detach', commit], { cwd: dir, timeoutMs });
    const head = (await runGit(['rev-parse', 'HEAD'], { cwd: dir, timeoutMs })).trim();
    if (head !== commit) throw new GantryError('GIT_FETCH_FAILED', `checked out ${head}, not ${commit}`, 'the repository answered with another commit');
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The commit a branch points at on the remote (`git ls-remote`), or undefined when it has no such branch. */
export async function remoteBranchHead(repoUrl: string, branch: string, timeoutMs?: number): Promise<string | undefined> {
  checkRepoUrl(repoUrl);
  const ref = `refs/heads/${checkBranch(branch)}`;
  const out = await runGit(['ls-remote', '--', repoUrl, ref], { timeoutMs });
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (name === ref && SHA_RE.test(sha)) return sha;
  }
  return undefined;
}
