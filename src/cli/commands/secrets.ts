import type { Command } from 'commander';
import { GantryError } from '../../core/errors.js';
import { readSecretValue } from '../../secrets/read-value.js';
import { c } from '../output.js';
import { run, withGlobals, withSession } from './common.js';

export function registerSecrets(program: Command): void {
  const secrets = program.command('secrets').description('age-encrypted secrets of the app, per environment (values never on the command line)');

  withGlobals(secrets.command('set <name> [value]'))
    .description('store a secret; the value is read from stdin (on a terminal: prompted without echo)')
    .addHelpText('after', '\nExamples:\n  printf %s "$DB_URL" | gantry secrets set DATABASE_URL\n  gantry secrets set API_KEY --env production   # prompts without echo')
    .action(
      run(async (opts, out, name, value) => {
        // A value in argv would show in `ps` and shell history: refuse it.
        if (value !== undefined) throw new GantryError('USAGE', 'secret values are read from stdin only, never from the command line', `printf %s VALUE | gantry secrets set ${name}`);
        return withSession(opts, out, async (s) => {
          const v = await readSecretValue({ stdin: process.stdin, isTTY: Boolean(process.stdin.isTTY), prompt: (q) => process.stderr.write(q) });
          const meta = await (await s.secrets()).set(s.loaded.manifest.app, opts.env, name!, v);
          s.store.audit(`cli`, 'secret.set', meta.app, undefined, { name: meta.name, env: meta.env, version: meta.version });
          out.result({ name: meta.name, app: meta.app, env: meta.env, set_at: meta.setAt, version: meta.version }, () => `${c.green('✓')} ${meta.name} set for ${meta.app} (${meta.env}), version ${meta.version}`);
          return 0;
        });
      }),
    );

  withGlobals(secrets.command('list'))
    .description('names, scope and when set (never values)')
    .action(
      run(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const declared = new Set(s.loaded.manifest.secrets ?? []);
          const list = (await s.secrets()).list(s.loaded.manifest.app, opts.env).map((m) => ({ name: m.name, env: m.env, set_at: m.setAt, version: m.version, declared: declared.has(m.name) }));
          const missing = [...declared].filter((n) => !list.some((m) => m.name === n));
          out.result({ secrets: list, missing }, () => [...list.map((m) => `${m.name.padEnd(24)} ${m.env.padEnd(12)} ${m.set_at}  ${m.version}${m.declared ? '' : c.dim('  (not declared in the manifest)')}`), ...missing.map((n) => c.red(`${n.padEnd(24)} missing (declared in the manifest)`))]);
          return 0;
        }),
      ),
    );

  withGlobals(secrets.command('rm <name>'))
    .description('remove a secret of this scope')
    .action(
      run(async (opts, out, name) =>
        withSession(opts, out, async (s) => {
          const removed = (await s.secrets()).remove(s.loaded.manifest.app, opts.env, name!);
          if (!removed) throw new GantryError('SECRET_MISSING', `secret ${name} is not set for this scope`, 'see `gantry secrets list`');
          s.store.audit('cli', 'secret.rm', s.loaded.manifest.app, undefined, { name, env: opts.env ?? 'default' });
          out.result({ name, removed }, () => `${c.green('✓')} removed ${name}`);
          return 0;
        }),
      ),
    );

  withGlobals(secrets.command('verify'))
    .description('check that every secret the manifest declares exists and decrypts')
    .action(
      run(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const checks = await (await s.secrets()).verify(s.loaded.manifest.app, opts.env, s.loaded.manifest.secrets ?? []);
          const ok = checks.every((ch) => ch.ok);
          out.result({ ok, checks }, () => [...checks.map((ch) => `${ch.ok ? c.green('✓') : c.red('✗')} ${ch.name}${ch.problem ? `: ${ch.problem}` : ''}${ch.hint ? c.dim(` (hint: ${ch.hint})`) : ''}`), checks.length ? '' : 'the manifest declares no secrets']);
          return ok ? 0 : 1;
        }),
      ),
    );
}
