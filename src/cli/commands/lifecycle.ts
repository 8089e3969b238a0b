import type { Command } from 'commander';
import { describeStep } from '../../engine/index.js';
import { ensureAutoscaler, runAutoscaler, stopAutoscaler } from '../autoscaler.js';
import { hostsOf, withHostOption, type HostOpts } from '../hosts.js';
import { c } from '../output.js';
import { remoteDeploy, remoteLifecycle, remoteOf, remoteRollback, type RemoteOpts } from '../remote.js';
import { interruptible, printDeployResult, run, withGlobals, withSession } from './common.js';

interface WaitOpt {
  wait?: boolean;
  dryRun?: boolean;
  force?: boolean;
}

export function registerLifecycle(program: Command): void {
  withGlobals(program.command('deploy'))
    .description('build a new release and roll it out with the manifest\'s strategy, health-gated')
    .option('--wait', 'queue behind a deploy in progress instead of failing')
    .option('--dry-run', 'print the plan (same as `gantry plan`) and change nothing')
    .option('--force', 'deploy a new release even when nothing changed')
    .option('--server <url>', 'deploy through this `gantry server` (default: GANTRY_SERVER; the key is GANTRY_TOKEN)')
    .addHelpText('after', '\nExamples:\n  gantry deploy\n  gantry deploy --target box --env production --json\n  gantry deploy --dry-run\n  GANTRY_SERVER=http://127.0.0.1:7070 GANTRY_TOKEN=gk_... gantry deploy')
    .action(
      run<WaitOpt & RemoteOpts>(async (opts, out) => {
        const remote = opts.dryRun ? undefined : remoteOf(opts);
        if (remote) return printDeployResult(out, await remoteDeploy(remote, opts, out));
        return withSession(opts, out, async (s) => {
          if (opts.dryRun) return printPlan(await s.engine.plan(s.loaded, opts.target), out);
          const { result: r, code } = await interruptible(out, 'deploy', (signal) => s.engine.deploy(s.loaded, opts.target, { wait: opts.wait, force: opts.force, signal }));
          if (r.status === 'succeeded') ensureAutoscaler(s, opts);
          return code;
        });
      }),
    );

  withGlobals(program.command('plan'))
    .description('print what a deploy would do, step by step, with no side effect')
    .action(run(async (opts, out) => withSession(opts, out, async (s) => printPlan(await s.engine.plan(s.loaded, opts.target), out))));

  withHostOption(withGlobals(program.command('rollback [release]')), 'refused: a rollback is fleet-wide')
    .description('return to the last known-good release (or RELEASE: a version like v12, an id or its start, or a git commit) without rebuilding')
    .option('--wait', 'queue behind a deploy in progress instead of failing')
    .option('--server <url>', 'roll back through this `gantry server` (default: GANTRY_SERVER; the key is GANTRY_TOKEN)')
    .option('--keep-secrets', 'keep the current secret versions (a rotated credential stays rotated) instead of the ones the older release ran with')
    .addHelpText('after', `\nExamples:\n  gantry rollback\n  gantry rollback v3 --keep-secrets\n  gantry rollback v12\n  gantry rollback 20261124T1015       # the start of a release id\n  gantry rollback 3f2a9c0             # the newest release of that git commit\n\n${FLEET_WIDE('rollback')}`)
    .action(
      run<WaitOpt & HostOpts & RemoteOpts & { keepSecrets?: boolean }>(async (opts, out, release) => {
        const remote = remoteOf(opts);
        if (remote) return printDeployResult(out, await remoteRollback(remote, opts, out, release));
        return withSession(opts, out, async (s) => (await interruptible(out, 'rollback', (signal) => s.engine.rollback(s.loaded, opts.target, release, { wait: opts.wait, signal, hosts: hostsOf(opts), keepSecrets: opts.keepSecrets }))).code);
      }),
    );

  for (const [name, what, host, more] of [
    ['start', 'start the current release again after `gantry stop`', 'many-node targets: start only this host and stop holding it', '--host starts only those hosts and releases them: later deploys, heals and scaling include them again. Without --host every host starts and none stays held.\nExamples:\n  gantry start\n  gantry start --host web2'],
    ['stop', 'drain and stop every instance and the proxy', 'many-node targets: stop only this host and hold it stopped', '--host stops only those hosts (instances drained and stopped, the host\'s proxy too) and records them as held: status shows them stopped, and deploys, heals, restarts and scaling leave them out (they would otherwise bring them back) until `gantry start --host NAME`. The other hosts keep serving. Naming every host is a plain stop.\nExamples:\n  gantry stop\n  gantry stop --host web2'],
    ['restart', 'replace every instance with a fresh one of the same release, health-gated, no downtime', 'many-node targets: restart only this host', '--host restarts only those hosts, in batches (strategy.batch, parallel, max_failed) like a deploy; the other hosts are not touched. A held host (`gantry stop --host`) is refused: `gantry start --host` starts it.\nExamples:\n  gantry restart\n  gantry restart --host web1,web3'],
  ] as const) {
    withHostOption(withGlobals(program.command(name)), host)
      .description(what)
      .option('--wait', 'queue behind a deploy in progress instead of failing')
      .option('--server <url>', `${name} through this \`gantry server\` (default: GANTRY_SERVER; the key is GANTRY_TOKEN)`)
      .addHelpText('after', `\n${more}`)
      .action(
        run<WaitOpt & HostOpts & RemoteOpts>(async (opts, out) => {
          const remote = remoteOf(opts);
          if (remote) return printDeployResult(out, await remoteLifecycle(remote, opts, out, name, hostsOf(opts)));
          return withSession(opts, out, async (s) => {
            const hosts = hostsOf(opts);
            // A restart is a rollout: Ctrl-C aborts it back to the instances that served before.
            const { result: r, code } = name === 'restart' ? await interruptible(out, 'restart', (signal) => s.engine.restart(s.loaded, opts.target, { wait: opts.wait, signal, hosts })) : await s.engine[name](s.loaded, opts.target, { wait: opts.wait, hosts }).then((x) => ({ result: x, code: printDeployResult(out, x) }));
            // After the engine: a stop refused (lock held) leaves the autoscaler as it was.
            if (name === 'stop' && !hosts) stopAutoscaler(s, opts);
            else if (r.status === 'succeeded') ensureAutoscaler(s, opts);
            return code;
          });
        }),
      );
  }
}

/** Why rollback and scale take no --host, for their --help. */
export const FLEET_WIDE = (what: 'rollback' | 'scale'): string =>
  `Many-node targets: ${what} is fleet-wide by design and refuses --host (${what === 'rollback' ? 'the target has one current release: every host runs it' : 'every host runs the same count, which later deploys and heals apply to every host'}). To take hosts out, \`gantry stop --host NAME\`; \`gantry start --host NAME\` brings them back.`;

export function registerAutoscaler(program: Command): void {
  // Hidden: the detached loop `gantry deploy` starts when the manifest has `autoscale`.
  withGlobals(program.command('autoscaler', { hidden: true })).action(run(async (opts) => runAutoscaler(opts)));
}

export function registerPush(program: Command): void {
  withGlobals(program.command('push'))
    .description("tag and push the current release's image to a registry; recorded as the deployment's registry_image")
    .option('--registry <host/namespace>', 'registry and namespace, e.g. 127.0.0.1:5000/team (default: the target\'s `registry`)')
    .option('--release <id>', 'push this kept release instead of the current one')
    .addHelpText('after', '\nExamples:\n  gantry push --target box --registry 127.0.0.1:5000/team\n  gantry push --json')
    .action(
      run<{ registry?: string; release?: string }>(async (opts, out) =>
        withSession(opts, out, async (s) => {
          // Credentials: the secrets REGISTRY_USERNAME / REGISTRY_PASSWORD when set, else ~/.docker/config.json (read by the target).
          const creds = await (await s.secrets()).resolve(s.loaded.manifest.app, opts.env, ['REGISTRY_USERNAME', 'REGISTRY_PASSWORD']);
          const auth = creds.missing.length ? undefined : { username: creds.values.REGISTRY_USERNAME!, password: creds.values.REGISTRY_PASSWORD! };
          const r = await s.engine.push(s.loaded, opts.target, { registry: opts.registry, release: opts.release, auth });
          out.result(r, () => `${c.green('✓')} pushed ${r.release} as ${c.bold(r.registry_image)}${r.digest ? ` (${r.digest})` : ''}`);
          return 0;
        }),
      ),
    );
}

export function registerCanaryControls(program: Command): void {
  for (const [name, what] of [
    ['promote', 'let a canary paused at an analysis step (pause: manual) move on to its next step'],
    ['abort', 'end the deploy, rollback or restart in progress (any strategy) back at the previous release; it ends rolled_back'],
  ] as const) {
    withGlobals(program.command(name))
      .description(what)
      .addHelpText('after', `\nExamples:\n  ${name === 'promote' ? 'gantry deploy &      # strategy.type: canary, pause: manual' : 'gantry deploy &'}\n  gantry ${name}`)
      .action(
        run(async (opts, out) =>
          withSession(opts, out, async (s) => {
            const r = await s.engine.signal(s.loaded, opts.target, name);
            out.result(r, () => (r.acted ? `${c.green('✓')} ${name}: deployment ${r.deployment} is now ${r.status}${name === 'abort' && r.reason ? ` (${r.reason})` : ''}` : `${c.red('✗')} ${name} was sent to deployment ${r.deployment} but it did not act on it (still ${r.status})`));
            return r.acted ? 0 : 1;
          }),
        ),
      );
  }
}

function printPlan(plan: Awaited<ReturnType<import('../../engine/index.js').Engine['plan']>>, out: import('../output.js').Output): number {
  out.result(plan, () => [
    `${c.bold('plan')} for ${plan.app} → ${plan.target}: ${plan.nothing_to_do ? `nothing to deploy (release ${plan.release} is current and unchanged)` : `${plan.new_release ? `new release ${c.bold(plan.release)}` : `release ${plan.release}`}, ${plan.strategy}, ${plan.instances} instance(s)`}`,
    ...(plan.dirty ? [c.yellow(`  note: ${plan.dirty}`)] : []),
    ...(plan.git && !plan.dirty ? [`  commit: ${plan.git.commit.slice(0, 10)}${plan.git.branch ? ` (${plan.git.branch})` : ''}`] : []),
    ...(plan.reuses_artifact_of ? [`  only env or secrets change: reuses the artifact of ${plan.reuses_artifact_of} (no build)`] : []),
    ...(plan.missing_secrets.length ? [c.red(`  missing secrets: ${plan.missing_secrets.join(', ')} (a deploy would stop here)`)] : []),
    ...(plan.persist.length ? [`  persistent paths: ${plan.persist.join(', ')}`] : []),
    ...(plan.start.length ? [`  start: ${plan.start.join(', ')}`] : []),
    ...(plan.stop.length ? [`  stop (after draining): ${plan.stop.join(', ')}`] : []),
    ...plan.steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${describeStep(s)}`),
    ...(plan.url ? [`  url: ${plan.url}`] : []),
    ...(plan.build?.generatedDockerfile ? ['  generated Dockerfile:', ...String(plan.build.generatedDockerfile).trimEnd().split('\n').map((l) => `    ${l}`)] : []),
    ...(plan.build?.problem ? [`  build problem: ${plan.build.problem}`] : []),
  ]);
  return 0;
}
