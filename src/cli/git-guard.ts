import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';

/**
 * Keeping Gantry's state (the age identity, secrets, state.db) out of git. Git runs as
 * argv (never a shell); where git is missing or the folder is no work tree, nothing is said.
 */

function git(cwd: string, args: string[]): { status: number; stdout: string } | undefined {
  try {
    return { status: 0, stdout: execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 }) };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { status?: number | null; stdout?: string };
    if (err.code === 'ENOENT' || typeof err.status !== 'number') return undefined; // no git, or it did not finish
    return { status: err.status, stdout: err.stdout ?? '' };
  }
}

/** The work tree holding `dir`, or undefined (not in one, or no git). */
export function gitWorkTree(dir: string): string | undefined {
  const r = git(dir, ['rev-parse', '--show-toplevel']);
  return r && r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** True when `path` (which exists) lies in a git work tree and is not ignored there: `git add -A` would take it. */
export function gitWouldAdd(path: string): boolean {
  const parent = dirname(path);
  if (!existsSync(parent) || !gitWorkTree(parent)) return false;
  // check-ignore: 0 ignored, 1 not ignored, 128 outside the work tree or another failure.
  return git(parent, ['check-ignore', '-q', '--', basename(path)])?.status === 1;
}

/** Whether git tracks `file` (it may be deleted on disk and still be in the index). */
export function gitTracks(file: string): boolean {
  let base = dirname(file);
  while (!existsSync(base) && dirname(base) !== base) base = dirname(base);
  if (!gitWorkTree(base)) return false;
  const r = git(base, ['ls-files', '-z', '--', relative(base, file)]);
  return Boolean(r && r.status === 0 && r.stdout.length > 0);
}

/**
 * Create the state dir if it is missing; when that new folder sits in a git work tree
 * without being ignored, say so once (on stderr, the moment it is created).
 */
export function ensureStateDir(stateDir: string): void {
  if (existsSync(stateDir)) return;
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  if (gitWouldAdd(stateDir)) {
    const tree = gitWorkTree(dirname(stateDir));
    const rel = tree ? relative(tree, stateDir) || '.' : stateDir;
    process.stderr.write(`warning: ${stateDir} is in the git work tree ${tree} and not ignored: \`git add\` would commit the secrets identity and state.db. Add "${rel}/" to ${tree ? join(tree, '.gitignore') : '.gitignore'} (gantry init does this).\n`);
  }
}

export const GITIGNORE_LINE = '.gantry/';

/** Add `.gantry/` to `<dir>/.gitignore` (created if missing) unless a line already ignores it. Returns whether it wrote. */
export function ignoreStateDir(dir: string): boolean {
  const file = join(dir, '.gitignore');
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const already = text.split(/\r?\n/).some((l) => ['.gantry', '.gantry/', '/.gantry', '/.gantry/', '.gantry/*', '/.gantry/*'].includes(l.trim()));
  if (already) return false;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  writeFileSync(file, `${text}${sep}# Gantry's state: secrets identity, encrypted secrets, state.db (never commit)\n${GITIGNORE_LINE}\n`);
  return true;
}
