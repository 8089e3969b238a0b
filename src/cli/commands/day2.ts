/** Day-2 commands: a one-off command in a release's environment, maintenance mode, and tearing an app down. */
import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { GantryError } from '../../core/errors.js';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stopAutoscaler } from '../autoscaler.js';
import type { Session } from '../context.js';
import { EnvStore } from '../env-store.js';
import { c } from '../output.js';
import { run, withGlobals, withSession } from './common.js';

/** Ask on the terminal for the app's name; true when it was typed back. */
async function confirmByName(app: string, target: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`This removes everything of ${c.bold(app)} on ${c.bold(target)}: instances, agent, releases, images, volumes and state.\nType the app's name (${app}) to confirm: `, resolve);
      rl.once('close', () => resolve(''));
    });
    return answer.trim() === app;
  } finally {
    rl.close();
  }
}

/** `--host` or its alias `--node`: one host. */
function hostOf(opts: { host?: string; node?: string }): string | undefined {
  if (opts.host && opts.node && opts.host !== opts.node) throw new GantryError('USAGE', `--host ${opts.host} and --node ${opts.node} name different hosts`, 'give one of them');
  return opts.host ?? opts.node;
}

/**
 * The values of `gantry env set` belong to the app, not to one target: they go with the app's
 * last target still in the state (they would otherwise reach a later deploy of a new app of the
 * same name). Backups stay (they are how a destroyed app comes back) and are named as kept.
 */
function forgetEnvValues(s: Session, app: string, r: { removed: string[]; kept: string[] }): void {
  const others = s.engine.targetNames(s.loaded).filter((t) => s.store.getTarget(app, t));
  if (others.length) r.kept.push(`env values of ${app} (gantry env set): still used by ${others.join(', ')}`);
  else if (new EnvStore(s.stateDir).removeApp(app)) r.removed.push(`env values of ${app} (gantry env set, every environment)`);
  const backups = join(s.stateDir, 'backups');
  const prefixes = s.engine.targetNames(s.loaded).map((t) => `${app}-${t}-`);
  const mine = existsSync(backups) ? readdirSync(backups).filter((f) => prefixes.some((p) => f.startsWith(p))) : [];
  if (mine.length) r.kept.push(`${mine.length} backup${mine.length === 1 ? '' : 's'} in ${backups} (gantry restore brings the app back; delete them by hand when no longer needed)`);
}

export function registerDay2(program: Command): void {
  withGlobals(program.command('exec'))
    .argument('<command...>', 'the command and its arguments, after --')
    .description("run a command in the current release's environment (its env, secrets and persistent paths): in its directory on process, in a running container (or a one-off one) on docker, as a transient systemd unit in the release's directory on an ssh host; interactive with a TTY when stdin is one; exits with the command's exit code")
    .option('--instance <id>', 'beside (or inside) this running instance, with its release')
    .option('--host <name>', 'many-node targets: run it on this host (default: the instance\'s host, else the first host)')
    .option('--node <name>', 'the same as --host')
    .addHelpText('after', '\nExamples:\n  gantry exec -- node scripts/migrate.js\n  gantry exec -- sh                       # interactive shell on a terminal\n  gantry exec --instance web-2 -- env\n  gantry exec --host web2 -- ls data      # ssh: on that host (default: the first host)\n  gantry exec --json -- ls data           # { exit_code, stdout, stderr }, secret values redacted\n\nThe command is run as given (argv), never through a shell: write `-- sh -c "a && b"` for one.')
    .action((argv: string[], o: unknown, cmd: Command) =>
      run<{ instance?: string; host?: string; node?: string }>(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY) && !opts.json;
          // The command gets Ctrl-C itself (same terminal, or as a byte through the TTY): this CLI waits for its exit code.
          const ignore = (): void => undefined;
          process.on('SIGINT', ignore);
          try {
            const r = await s.engine.exec(s.loaded, opts.target, {
              argv,
              instance: opts.instance,
              host: hostOf(opts),
              capture: Boolean(opts.json),
              io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, tty, columns: process.stdout.columns, rows: process.stdout.rows },
            });
            if (opts.json) out.result(r, () => []);
            return r.exit_code;
          } finally {
            process.off('SIGINT', ignore);
            // A stdin read for the command (docker) would keep this process alive.
            process.stdin.destroy();
          }
        }),
      )(argv, o, cmd),
    );

  withGlobals(program.command('maintenance <mode>'))
    .description("on: Gantry's proxy answers every request with 503, Retry-After and a small page while the instances keep running (kept across an agent restart); off: requests reach the app again")
    .option('--message <text>', 'the sentence on the page (HTML-escaped)')
    .addHelpText('after', '\nExamples:\n  gantry maintenance on --message "Upgrading the database, back at 14:00"\n  gantry maintenance off\n  gantry status           # shows "maintenance: on"')
    .action(
      run<{ message?: string }>(async (opts, out, mode) => {
        if (mode !== 'on' && mode !== 'off') throw new GantryError('USAGE', `maintenance takes on or off, not "${mode}"`, 'gantry maintenance on --message "back soon" / gantry maintenance off');
        if (mode === 'off' && opts.message !== undefined) throw new GantryError('USAGE', '--message goes with `maintenance on`', 'gantry maintenance on --message "back soon"');
        return withSession(opts, out, async (s) => {
          const r = await s.engine.maintenance(s.loaded, opts.target, { on: mode === 'on', message: opts.message });
          out.result(r, () =>
            r.maintenance
              ? [`${c.yellow('!')} maintenance on for ${c.bold(r.app)} on ${r.target}: requests${r.url ? ` to ${r.url}` : ''} get 503 (Retry-After: ${r.retry_after_s}s); instances keep running`, c.dim('  `gantry maintenance off` ends it')]
              : `${c.green('✓')} maintenance off for ${c.bold(r.app)} on ${r.target}: requests reach the app again`,
          );
          return 0;
        });
      }),
    );

  withGlobals(program.command('destroy'))
    .description("remove everything of the app on the target: instances, agent, releases, images, volumes and state (secrets only with --include-secrets; --keep-data keeps the persistent paths); asks for the app's name unless --yes")
    .option('--yes', 'do not ask (required without a terminal)')
    .option('--keep-data', 'keep the persistent paths (process: .gantry/apps/<app>/shared, docker: the volumes)')
    .option('--include-secrets', "also remove the app's secrets (every environment)")
    .option('--wait', 'queue behind a deploy in progress instead of failing')
    .addHelpText('after', '\nExamples:\n  gantry destroy                      # asks for the app\'s name\n  gantry destroy --yes --keep-data\n  gantry destroy -t staging --yes --include-secrets --json')
    .action(
      run<{ yes?: boolean; keepData?: boolean; includeSecrets?: boolean; wait?: boolean }>(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const app = s.loaded.manifest.app;
          const target = opts.target ?? s.engine.targetNames(s.loaded)[0]!;
          if (!opts.yes) {
            if (!process.stdin.isTTY || opts.json) throw new GantryError('USAGE', `destroy removes everything of ${app} on ${target} and needs a confirmation, but there is no terminal to ask on`, 'pass --yes to confirm (add --keep-data to keep the persistent data)');
            if (!(await confirmByName(app, target))) throw new GantryError('USAGE', 'the name typed does not match: nothing was removed', `type ${app} exactly, or pass --yes`);
          }
          const r = await s.engine.destroy(s.loaded, opts.target, { includeSecrets: opts.includeSecrets, keepData: opts.keepData, wait: opts.wait });
          stopAutoscaler(s, opts);
          forgetEnvValues(s, app, r);
          out.result(r, () => [`${c.green('✓')} destroyed ${c.bold(r.app)} on ${r.target}`, ...r.removed.map((x) => c.dim(`  removed ${x}`)), ...r.kept.map((x) => `  kept ${x}`)]);
          return 0;
        }),
      ),
    );
}
