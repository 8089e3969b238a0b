import type { Command } from 'commander';
import { resolve } from 'node:path';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { hostsOf, withHostOption, type HostOpts } from '../hosts.js';
import { c } from '../output.js';
import { FLEET_WIDE } from './lifecycle.js';
import { printDeployResult, run, withGlobals, withSession } from './common.js';

export function registerOperate(program: Command): void {
  withHostOption(withGlobals(program.command('scale <instances>')), 'refused: the count is fleet-wide')
    .description('set the instance count (no new release); health-gated up, drained down. Later deploys keep it until run.instances changes in the manifest; 0 stops every instance but keeps the app deployed (the proxy answers 503)')
    .option('--wait', 'queue behind a deploy in progress instead of failing')
    .option('--reason <text>', 'recorded with the scaling event')
    .addHelpText('after', `\nExamples:\n  gantry scale 4\n  gantry scale 0          # no instance runs; \`gantry scale 1\` brings it back\n  gantry scale 1 --json\n\n${FLEET_WIDE('scale')}`)
    .action(
      run<{ wait?: boolean; reason?: string } & HostOpts>(async (opts, out, n) => {
        const count = Number(n);
        if (!/^\d+$/.test(n.trim()) || !Number.isInteger(count)) throw new GantryError('USAGE', `"${n}" is not a number of instances`, `a whole number from 0 to ${DEFAULTS.run.maxInstances}, e.g. gantry scale 3`);
        return withSession(opts, out, async (s) => printDeployResult(out, await s.engine.scale(s.loaded, opts.target, count, { wait: opts.wait, reason: opts.reason, hosts: hostsOf(opts) })));
      }),
    );

  withGlobals(program.command('backup'))
    .description('write one .tar.gz with the state, the artifacts and the persistent data (checksummed)')
    .option('--include-secrets', "also include the app's encrypted secrets (the age identity is never included)")
    .option('--out <file>', 'where to write the archive (default: .gantry/backups/)')
    .option('--wait', 'queue behind a deploy in progress instead of failing')
    .addHelpText('after', '\nExamples:\n  gantry backup\n  gantry backup --include-secrets --out /mnt/offsite/app.tar.gz')
    .action(
      run<{ includeSecrets?: boolean; out?: string; wait?: boolean }>(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const r = await s.engine.backup(s.loaded, opts.target, { includeSecrets: opts.includeSecrets, out: opts.out ? resolve(opts.out) : undefined, wait: opts.wait });
          out.result(r, () => `${c.green('✓')} backup ${r.file} (${(r.bytes / 1024).toFixed(1)} KiB, ${r.entries} entries${r.includes_secrets ? ', with encrypted secrets' : ''})`);
          return 0;
        }),
      ),
    );

  withGlobals(program.command('backups'))
    .description('list backups with their time, app, release, size and contents')
    .action(
      run(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const list = await s.engine.backups(s.loaded);
          out.result(list, () => (list.length ? list.map((b) => `${b.created_at ?? '?'}  ${String(b.release ?? '-').padEnd(32)} ${(b.bytes / 1024).toFixed(1).padStart(9)} KiB  ${b.entries ?? '?'} entries${b.includes_secrets ? ' +secrets' : ''}  ${b.file}${b.problem ? c.red(`  (${b.problem})`) : ''}`) : ['no backups yet']));
          return 0;
        }),
      ),
    );

  withGlobals(program.command('restore <archive>'))
    .description('verify every checksum, then put state, artifacts and data back and start the recorded release')
    .option('--force', 'restore even over state newer than the backup')
    .option('--wait', 'queue behind a deploy in progress instead of failing')
    .addHelpText('after', '\nExamples:\n  gantry restore .gantry/backups/hello-local-20261124T010203Z.tar.gz')
    .action(
      run<{ force?: boolean; wait?: boolean }>(async (opts, out, archive) =>
        withSession(opts, out, async (s) => {
          const r = await s.engine.restore(s.loaded, opts.target, resolve(archive!), { force: opts.force, wait: opts.wait });
          out.result(r, () => [`${c.green('✓')} restored ${r.files} entries from ${r.file} (made ${r.backup_created_at})`, r.release ? `  serving release ${r.release}${r.url ? ` at ${r.url}` : ''}` : '  nothing was deployed at the time of the backup']);
          return 0;
        }),
      ),
    );
}
