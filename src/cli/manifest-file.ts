import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DEFAULTS } from '../core/defaults.js';

/**
 * Where the manifest of a command is: the -f/--file given (after the command,
 * or before it: `gantry -f x.yaml logs -f`), else the first gantry.yaml found
 * in the working directory or a parent of it, as git and compose look for
 * theirs. `init` never searches: it writes here.
 */
export interface ManifestLocation {
  file: string;
  /** How the file was named: on the command line, found by searching, or the default that does not exist. */
  how: 'given' | 'found' | 'missing';
}

/** Directories from `start` up to the filesystem root. */
function* upwards(start: string): Generator<string> {
  let dir = resolve(start);
  for (;;) {
    yield dir;
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

export function locateManifest(given: string | undefined, cwd: string, opts: { search: boolean }): ManifestLocation {
  if (given) return { file: resolve(cwd, given), how: 'given' };
  if (opts.search) {
    for (const dir of upwards(cwd)) {
      for (const name of DEFAULTS.manifestFileNames) {
        const file = join(dir, name);
        if (existsSync(file)) return { file, how: 'found' };
      }
    }
  }
  return { file: resolve(cwd, DEFAULTS.manifestFile), how: 'missing' };
}

/**
 * The hint of MANIFEST_NOT_FOUND for one command: how to name a manifest
 * there. After `logs`, `-f` is --follow, so it is named before the command.
 */
export function manifestNotFoundHint(command: string, how: ManifestLocation['how']): string {
  const name = command === 'logs' ? '`gantry -f path/to/gantry.yaml logs` (after `logs`, -f is --follow; --file works there)' : `\`gantry ${command} -f path/to/gantry.yaml\``;
  if (how === 'given') return `check the path; \`gantry init -f <path>\` writes a manifest there`;
  return `run \`gantry init\` to write one, or name it: ${name}`;
}

export function manifestNotFoundMessage(loc: ManifestLocation, cwd: string): string {
  return loc.how === 'given' ? `no manifest at ${loc.file}` : `no ${DEFAULTS.manifestFile} in ${resolve(cwd)} or any parent directory`;
}
