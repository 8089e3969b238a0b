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
        writeFileSync(file, renderManifest(d));
        // The state dir holds the secrets identity: keep it out of git from the start.
        const gitignoreAdded = ignoreStateDir(dirname(file));
        out.result({ file, app: d.app, runtime: d.runtime, command: d.command, build: d.build ?? null, gitignore: gitignoreAdded ? 'added .gantry/' : 'already ignores .gantry/' }, () => [
          `${c.green('✓')} wrote ${file} (${d.why}: ${d.runtime})`,
          ...(gitignoreAdded ? [`  added .gantry/ to ${join(dirname(file), '.gitignore')} (secrets identity and state stay out of git)`] : []),
          `  run: ${d.command}${d.build ? `\n  build: ${d.build}` : ''}`,
          '  next: gantry validate && gantry deploy',
        ]);
        return 0;
      }),
    );
}
