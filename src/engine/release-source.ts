/**
 * Where a release's code comes from: the working tree (default) or, with
 * `build.from: commit`, a clean checkout of HEAD; with what git says about it
 * (commit, branch, dirty, author) and the keys that name the release's code
 * (`hash`) and its artifact (`buildKey`: code and build inputs, not env or secrets).
 */
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { checkoutHead, gitSource, type GitSource } from '../core/git.js';
import type { EngineContext } from './context.js';
import { hashSourceParts } from './source.js';
import type { Opened } from './types.js';

export interface ReleaseSource {
  dir: string;
  /** Content hash of the code. */
  hash: string;
  /** Same code and build inputs, same key: such a release's artifact can serve another (env or secrets changed only). */
  buildKey: string;
  git?: GitSource;
  /** Built from a clean checkout of HEAD (`build.from: commit`). */
  fromCommit: boolean;
  /** Uncommitted changes in the working tree (left out of the release when fromCommit). */
  treeDirty: boolean;
  dispose(): void;
}

export async function openReleaseSource(engine: EngineContext, o: Opened): Promise<ReleaseSource> {
  const appDir = o.loaded.dir;
  const stateRel = relative(appDir, engine.opts.stateDir);
  const excluded = stateRel && !stateRel.startsWith('..') && !isAbsolute(stateRel) ? [stateRel] : [];
  const git = await gitSource(appDir, excluded);
  const fromCommit = o.manifest.build?.from === 'commit';
  let dir = appDir;
  let dispose = (): void => undefined;
  if (fromCommit) {
    // Outside the state dir: a source tree never includes Gantry's state, so a checkout inside it would be skipped.
    dir = join(tmpdir(), `gantry-checkout-${process.pid}-${randomBytes(4).toString('hex')}`, basename(appDir));
    dispose = () => rmSync(dirname(dir), { recursive: true, force: true });
    await checkoutHead(appDir, dir);
  }
  try {
    // The build key leaves the manifest file out: its build inputs are hashed below, and an env change edits it.
    const manifestRel = relative(appDir, o.loaded.file);
    const { hash, hashApart } = hashSourceParts(dir, [engine.opts.stateDir], manifestRel.startsWith('..') ? undefined : manifestRel.split(sep).join('/'));
    const m = o.manifest;
    const buildKey = createHash('sha256')
      .update(hashApart)
      .update(JSON.stringify({ build: m.build ?? null, run: { command: m.run.command ?? null, port: m.run.port }, persist: m.persist ?? [] }))
      .digest('hex');
    return { dir, hash, buildKey, git: git && { ...git, dirty: fromCommit ? false : git.dirty }, fromCommit, treeDirty: Boolean(git?.dirty), dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** The line plan and deploy print about a dirty work tree, or undefined when clean (or not in git). */
export function dirtyTreeNote(src: ReleaseSource): string | undefined {
  if (!src.git || !src.treeDirty) return undefined;
  const at = `${src.git.commit.slice(0, 10)}${src.git.branch ? ` on ${src.git.branch}` : ''}`;
  return src.fromCommit
    ? `the work tree has uncommitted changes: they are not in this release (build.from: commit builds ${at})`
    : `the work tree has uncommitted changes: the release is built from them and recorded as ${at} + changes (dirty); commit them, or set build.from: commit to build HEAD only`;
}
