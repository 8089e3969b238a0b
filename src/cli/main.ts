import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { markStartup, writeStartupMarksAtExit } from '../core/startup-marks.js';
import { registerCommands } from './command-groups.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('gantry')
  .description('Deploy an app described once in gantry.yaml: build, ship, run, health-gate, roll back.')
  .version(pkg.version)
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText('after', '\nExamples:\n  gantry init                 write a gantry.yaml for the app here\n  gantry deploy               build and roll out a release\n  gantry status --json        what runs now\n  gantry rollback             back to the last known-good release\n\nExit codes: 0 ok, 1 operation failed, 2 bad usage or invalid input.');

// Before the commands are added: subcommands copy this setting when created.
program.exitOverride();
// `gantry -f x.yaml logs -f`: options before the command are the program's (-f = the manifest), after it the command's (logs: -f = --follow).
program.enablePositionalOptions().option('-f, --file <path>', 'manifest file for the command that follows (default: gantry.yaml here or in the nearest parent directory)');

async function main(): Promise<void> {
  markStartup('main');
  writeStartupMarksAtExit();
  // Only the module of the command being run (start-up time): see command-groups.ts.
  await registerCommands(program, process.argv.slice(2));
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; anything else commander rejects is bad usage.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else {
      throw err;
    }
  }
}

// No top-level await: the bundle is a CommonJS script (bin/gantry.js compiles it with
// V8's code cache). An error nothing handled still ends the process as an uncaught one.
main().catch((err: unknown) => {
  setImmediate(() => {
    throw err;
  });
});
