import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { GantryError } from '../../core/errors.js';
import { shouldCopy } from '../../engine/source.js';
import { tailLines } from '../../supervisor/index.js';

/**
 * Build an immutable release directory: copy the source (minus Gantry's state and VCS
 * metadata), run the user's build command inside it, then rename into place so a
 * half-built release never carries a final name.
 */
export async function buildReleaseDir(opts: {
  sourceDir: string;
  stateDir: string;
  releasesDir: string;
  releaseId: string;
  command?: string;
  env: Record<string, string>;
  emit: (level: 'info' | 'warn' | 'error', message: string) => void;
}): Promise<string> {
  const finalDir = join(opts.releasesDir, opts.releaseId);
  if (existsSync(finalDir)) return finalDir;
  const workDir = `${finalDir}.partial`;
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(opts.releasesDir, { recursive: true });
  const src = resolve(opts.sourceDir);
  const state = resolve(opts.stateDir);
  // Entry by entry: the state dir usually lives inside the source, and cpSync refuses to copy a tree into itself.
  const filter = (from: string): boolean => {
    const abs = resolve(from);
    if (abs === state || abs.startsWith(state + sep)) return false;
    return shouldCopy(relative(src, abs));
  };
  mkdirSync(workDir);
  for (const entry of readdirSync(src)) {
    if (filter(join(src, entry))) cpSync(join(src, entry), join(workDir, entry), { recursive: true, verbatimSymlinks: true, filter });
  }
  if (opts.command) {
    const logFile = join(opts.releasesDir, `${opts.releaseId}.build.log`);
    opts.emit('info', `build: ${opts.command}`);
    const code = await runShell(opts.command, workDir, opts.env, logFile);
    if (code !== 0) {
      const tail = await tailLines(logFile, 20).catch(() => []);
      rmSync(workDir, { recursive: true, force: true });
      throw new GantryError('BUILD_FAILED', `build command exited with code ${code}:\n${tail.join('\n')}`, `run the build command by hand in ${opts.sourceDir} to reproduce; full output in ${logFile}`);
    }
  }
  renameSync(workDir, finalDir);
  return finalDir;
}

/** The user's build command runs through an explicit shell with their text as a single argument. */
function runShell(command: string, cwd: string, env: Record<string, string>, logFile: string): Promise<number> {
  return new Promise((resolvePromise) => {
    const out = createWriteStream(logFile);
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('error', () => resolvePromise(127));
    child.on('close', (code) => out.end(() => resolvePromise(code ?? 1)));
  });
}
