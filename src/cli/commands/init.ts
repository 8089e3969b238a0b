import type { Command } from 'commander';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GantryError } from '../../core/errors.js';
import { manifestPath } from '../context.js';
import { ignoreStateDir } from '../git-guard.js';
import { detectApp, renderManifest } from '../init-detect.js';
import { c } from '../output.js';
import { run, withGlobals } from './common.js';

export function registerInit(program: Command): void {
  withGlobals(program.command('init'))
    .description('detect a Node or Python app here and write a commented gantry.yaml')
    .option('--force', 'overwrite an existing gantry.yaml')
    .addHelpText('after', '\nExamples:\n  cd my-app && gantry init && gantry deploy')
    .action(
      run<{ force?: boolean }>(async (opts, out) => {
        const file = manifestPath(opts);
        if (existsSync(file) && !opts.force) throw new GantryError('USAGE', `${file} already exists`, 'pass --force to overwrite it');
        const d = detectApp(dirname(file));
        // No health route in the source: a person at a terminal is asked; otherwise / is checked (and the file says so).
        if (!d.health && process.stdin.isTTY && process.stderr.isTTY && !opts.json) {
          const path = await askHealthPath();
          if (path) d.health = { path, found: 'asked' };
        }
        writeFileSync(file, renderManifest(d));
        // The state dir holds the secrets identity: keep it out of git from the start.
        const gitignoreAdded = ignoreStateDir(dirname(file));
        out.result({ file, app: d.app, runtime: d.runtime, command: d.command, build: d.build ?? null, health: { path: d.health?.path ?? '/', found: d.health?.found ?? null }, gitignore: gitignoreAdded ? 'added .gantry/' : 'already ignores .gantry/' }, () => [
          `${c.green('✓')} wrote ${file} (${d.why}: ${d.runtime})`,
          ...(gitignoreAdded ? [`  added .gantry/ to ${join(dirname(file), '.gitignore')} (secrets identity and state stay out of git)`] : []),
          `  run: ${d.command}${d.build ? `\n  build: ${d.build}` : ''}`,
          `  health: ${d.health ? `${d.health.path} (${d.health.found === 'asked' ? 'as you said' : `found in ${d.health.found}`})` : c.yellow('/ (no health route found in the source: set health.path to one)')}`,
          '  next: gantry validate && gantry deploy',
        ]);
        return 0;
      }),
    );
}

/** Ask for the app's health route on a terminal; empty: none (/ is checked). */
async function askHealthPath(): Promise<string | undefined> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    for (let i = 0; i < 3; i++) {
      const a = (await rl.question('No health route found in the source. Which path answers 2xx when the app is ready (e.g. /health)? [/] ')).trim();
      if (a === '') return undefined;
      if (/^\/[\x21-\x7e]*$/.test(a)) return a;
      process.stderr.write('a path starts with / and has no spaces\n');
    }
    return undefined;
  } finally {
    rl.close();
  }
}
