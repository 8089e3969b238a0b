import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { GantryError } from '../../core/errors.js';
import { walkSourceTree } from '../../core/source-tree.js';
import { stripAnsi } from '../../core/ansi.js';
import { capLine, capTailLines } from '../../core/bounded.js';
import { DEFAULTS } from '../../core/defaults.js';
import { LogFile, tailLines } from '../../supervisor/index.js';

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
  /** Paths kept outside releases (`persist`), linked into this one. */
  persist: string[];
  sharedDir: string;
  emit: (level: 'info' | 'warn' | 'error', message: string, data?: unknown) => void;
}): Promise<string> {
  const finalDir = join(opts.releasesDir, opts.releaseId);
  if (existsSync(finalDir)) return finalDir;
  const workDir = `${finalDir}.partial`;
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(opts.releasesDir, { recursive: true });
  mkdirSync(workDir);
  copySourceTree(opts.sourceDir, workDir, [opts.stateDir]);
  linkPersistentPaths(workDir, opts.sharedDir, opts.persist, opts.emit);
  if (opts.command) {
    const logFile = join(opts.releasesDir, `${opts.releaseId}.build.log`);
    opts.emit('info', `build: ${opts.command}`);
    // Each line also passes by as a transient event: a terminal shows the build's tail live.
    const code = await runShell(opts.command, workDir, opts.env, logFile, (line) => opts.emit('info', `build: ${capLine(line)}`, { transient: true }));
    if (code !== 0) {
      const tail = capTailLines((await tailLines(logFile, 20).catch(() => [])).map(stripAnsi), { maxBytes: DEFAULTS.output.errorTailBytes });
      rmSync(workDir, { recursive: true, force: true });
      pruneFailedBuildLogs(opts.releasesDir, opts.releaseId);
      throw new GantryError('BUILD_FAILED', `build command exited with code ${code}:\n${tail.join('\n')}`, `run the build command by hand in ${opts.sourceDir} to reproduce; the end of its output is in ${logFile}`);
    }
  }
  renameSync(workDir, finalDir);
  return finalDir;
}

/**
 * A new release directory made of hard links to an earlier one's files (only env or
 * secrets changed: nothing to build), symlinks (persistent paths) copied as they are.
 * Written under `.partial` and renamed into place, like a build.
 */
export function linkReleaseDir(fromDir: string, releasesDir: string, releaseId: string): string {
  const finalDir = join(releasesDir, releaseId);
  if (existsSync(finalDir)) return finalDir;
  if (!lstatSync(fromDir, { throwIfNoEntry: false })?.isDirectory()) throw new GantryError('INTERNAL', `release directory ${fromDir} is gone`);
  const workDir = `${finalDir}.partial`;
  rmSync(workDir, { recursive: true, force: true });
  const dirModes: Array<[string, number]> = [];
  const walk = (from: string, to: string): void => {
    const st = lstatSync(from);
    mkdirSync(to);
    dirModes.push([to, st.mode & 0o7777]);
    // (A name that is not UTF-8 fails the reuse; the engine then builds instead.)
    for (const name of readdirSync(from)) {
      const src = join(from, name);
      const dst = join(to, name);
      const s = lstatSync(src);
      if (s.isDirectory()) walk(src, dst);
      else if (s.isSymbolicLink()) symlinkSync(readlinkSync(src, { encoding: 'buffer' }), dst);
      else if (s.isFile()) linkSync(src, dst);
    }
  };
  try {
    walk(fromDir, workDir);
    for (const [dir, mode] of dirModes.reverse()) chmodSync(dir, mode);
    renameSync(workDir, finalDir);
  } catch (err) {
    rmSync(workDir, { recursive: true, force: true });
    throw err;
  }
  return finalDir;
}

/**
 * Copy what belongs in a release (no `.gantry` or `.git` at any depth, not the state dir)
 * entry by entry, with byte paths: a file name that is not valid UTF-8 is copied too.
 * Symlinks are copied verbatim, never followed.
 */
function copySourceTree(sourceDir: string, destDir: string, extraExcluded: string[]): void {
  const dest = Buffer.from(resolve(destDir) + '/');
  const dirModes: Array<[Buffer, number]> = [];
  for (const { abs, rel, stat } of walkSourceTree(sourceDir, extraExcluded)) {
    const to = Buffer.concat([dest, rel]);
    if (stat.isDirectory()) {
      mkdirSync(to);
      dirModes.push([to, stat.mode & 0o7777]);
    } else if (stat.isSymbolicLink()) symlinkSync(readlinkSync(abs, { encoding: 'buffer' }), to);
    else if (stat.isFile()) copyFileSync(abs, to);
    // Sockets, FIFOs and devices are not part of a release.
  }
  // Modes last, deepest first: a read-only folder must be filled before it becomes read-only.
  for (const [dir, mode] of dirModes.reverse()) chmodSync(dir, mode);
}

/**
 * Capistrano-style linked dirs: each persistent path lives once under
 * shared/ and every release links to it. The first release seeds it from its
 * own copy, if it has one.
 */
export function linkPersistentPaths(releaseDir: string, sharedDir: string, persist: string[], emit: (level: 'info' | 'warn' | 'error', message: string) => void): void {
  for (const p of persist) {
    const inRelease = resolve(releaseDir, p);
    const shared = resolve(sharedDir, p);
    // The manifest schema already refuses absolute paths and '..'; this also stops symlinks in the app that lead elsewhere.
    if (!inRelease.startsWith(resolve(releaseDir) + sep) || !shared.startsWith(resolve(sharedDir) + sep)) throw new GantryError('MANIFEST_INVALID', `persist path "${p}" leaves the app directory`, 'use a relative path inside the app, e.g. "data"');
    assertNoSymlinkOnTheWay(releaseDir, p);
    if (!existsSync(shared)) {
      mkdirSync(dirname(shared), { recursive: true });
      if (existsSync(inRelease)) {
        renameSync(inRelease, shared);
        emit('info', `persist: seeded ${p} from this release`);
      } else mkdirSync(shared, { recursive: true });
    } else rmSync(inRelease, { recursive: true, force: true });
    mkdirSync(dirname(inRelease), { recursive: true });
    symlinkSync(relative(dirname(inRelease), shared), inRelease);
  }
}

function assertNoSymlinkOnTheWay(root: string, rel: string): void {
  let cur = resolve(root);
  for (const part of rel.split('/').filter(Boolean)) {
    cur = join(cur, part);
    const st = lstatSync(cur, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) throw new GantryError('MANIFEST_INVALID', `persist path "${rel}": ${relative(root, cur)} is a symlink in the app`, 'a persistent path must be a real directory (or absent) in the app; Gantry makes the link itself');
  }
}

/**
 * Removes a release's directory built here and its build logs. Never anything outside the
 * releases directory, whatever the record says.
 */
export function removeReleaseDir(releasesDir: string, ref: string): void {
  const root = resolve(releasesDir);
  const dir = resolve(ref);
  if (!dir.startsWith(root + sep)) throw new GantryError('INTERNAL', `refusing to delete ${dir}: not under ${root}`);
  rmSync(dir, { recursive: true, force: true });
  for (const log of buildLogFiles(dir)) rmSync(log, { force: true });
}

/** A release's build log beside it and the one it rotated to. */
const buildLogFiles = (releaseDir: string): string[] => [`${releaseDir}.build.log`, `${releaseDir}.build.log.1`];

/**
 * Build logs of builds that left no release (failed ones) pile up, one per
 * attempt: keep the newest few. Release ids start with their time, so names sort by age.
 */
function pruneFailedBuildLogs(releasesDir: string, current: string): void {
  const orphans = readdirSync(releasesDir)
    .filter((f) => f.endsWith('.build.log'))
    .map((f) => f.slice(0, -'.build.log'.length))
    .filter((id) => id !== current && !existsSync(join(releasesDir, id)))
    .sort()
    .reverse();
  for (const id of orphans.slice(Math.max(0, DEFAULTS.failedBuildLogsKept - 1))) {
    for (const f of buildLogFiles(join(releasesDir, id))) rmSync(f, { force: true });
  }
}

/**
 * The user's build command runs through an explicit shell with their text as a single argument.
 * Its output goes to a size-capped log (rotated once to `.1`), so a chatty build cannot fill the disk.
 */
function runShell(command: string, cwd: string, env: Record<string, string>, logFile: string, onLine?: (line: string) => void): Promise<number> {
  for (const f of [logFile, `${logFile}.1`]) rmSync(f, { force: true });
  return new Promise((resolvePromise) => {
    const out = new LogFile(logFile, DEFAULTS.buildLogMaxBytes);
    const child = spawn('/bin/sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const decoders = [child.stdout, child.stderr].map((stream) => {
      const decoder = new StringDecoder('utf8');
      stream.on('data', (d: Buffer) => {
        const text = decoder.write(d);
        if (onLine) for (const l of stripAnsi(text).split('\n')) if (l.trim()) onLine(l);
        if (out.write(text)) return;
        child.stdout.pause();
        child.stderr.pause();
        out.once('drain', () => {
          child.stdout.resume();
          child.stderr.resume();
        });
      });
      return decoder;
    });
    child.on('error', () => resolvePromise(127));
    child.on('close', (code) => {
      for (const decoder of decoders) out.write(decoder.end());
      void out.close().then(() => resolvePromise(code ?? 1));
    });
  });
}
