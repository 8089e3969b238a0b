import type { Command } from 'commander';
import { GantryError } from '../../core/errors.js';
import type { DeployResult } from '../../engine/index.js';
import { envVarNameProblem } from '../../manifest/index.js';
import { loadFileOnly, loadFor } from '../context.js';
import { EnvStore } from '../env-store.js';
import { c } from '../output.js';
import { ensureAutoscaler } from '../autoscaler.js';
import { interruptible, run, withGlobals, withSession } from './common.js';

interface EnvOpts {
  deploy?: boolean;
  wait?: boolean;
}

/** `K=V` → [K, V]; a bad name is bad usage (exit 2). */
function parseAssignment(arg: string): [string, string] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new GantryError('USAGE', `"${arg}" is not NAME=VALUE`, 'e.g. gantry env set LOG_LEVEL=debug');
  const name = arg.slice(0, eq);
  const problem = envVarNameProblem(name);
  if (problem) throw new GantryError('USAGE', problem, 'e.g. gantry env set LOG_LEVEL=debug');
  const value = arg.slice(eq + 1);
  if (value.includes('\0')) throw new GantryError('USAGE', `the value of ${name} contains a NUL character`, 'remove it');
  return [name, value];
}

export function registerEnv(program: Command): void {
  const env = program.command('env').description("the app's environment variables per environment (--env): the manifest's env plus values set here; each change is a release through the same gates");

  for (const verb of ['set', 'unset'] as const) {
    withGlobals(env.command(`${verb} <${verb === 'set' ? 'NAME=VALUE' : 'NAME'}...>`))
      .description(verb === 'set' ? 'set variables (over the manifest\'s env) and deploy them as a new release that reuses the current artifact' : 'remove variables set with `gantry env set` and deploy that as a new release')
      .option('--no-deploy', 'only record the change; the next deploy applies it')
      .option('--wait', 'queue behind a deploy in progress instead of failing')
      .addHelpText('after', verb === 'set' ? '\nExamples:\n  gantry env set LOG_LEVEL=debug\n  gantry env set FEATURE_X=on LIMIT=20 --env production\n  gantry env set LOG_LEVEL=info --no-deploy\n\nThe values are not secrets (use `gantry secrets set` for those). When the release fails its gates it is rolled back and the change is not kept (exit 1).' : '\nExamples:\n  gantry env unset LOG_LEVEL\n\nOnly values set with `gantry env set` can be removed; the manifest\'s own env stays as the file says.')
      .action(
        run<EnvOpts>(async (opts, out, ...args) => {
          const names = args.filter((a) => a !== undefined);
          const assignments = verb === 'set' ? names.map(parseAssignment) : names.map((n) => [n, ''] as [string, string]);
          return withSession(opts, out, async (s) => {
            const app = s.loaded.manifest.app;
            const store = new EnvStore(s.stateDir);
            const before = store.own(app, opts.env);
            const next = { ...before };
            const changed: Array<{ name: string; action: 'set' | 'unset' }> = [];
            for (const [name, value] of assignments) {
              if (verb === 'set') {
                if (before[name] !== value) changed.push({ name, action: 'set' });
                next[name] = value;
              } else {
                if (!(name in before)) throw new GantryError('USAGE', `${name} was not set with \`gantry env set\`${opts.env ? ` for ${opts.env}` : ''}`, name in s.loaded.manifest.env ? `${name} comes from the manifest: edit gantry.yaml to change it` : 'see `gantry env list`');
                delete next[name];
                changed.push({ name, action: 'unset' });
              }
            }
            const scope = opts.env ?? 'default';
            if (changed.length === 0) {
              out.result({ app, env: scope, changed, kept: true, deploy: null }, () => `${c.green('✓')} nothing changed: ${assignments.map(([n]) => n).join(', ')} already ${assignments.length === 1 ? 'has' : 'have'} these values`);
              return 0;
            }
            store.write(app, opts.env, next);
            const target = opts.target ?? Object.keys(s.loaded.manifest.targets)[0]!;
            const deployed = s.store.getTarget(app, target)?.currentRelease !== undefined;
            const what = changed.map((ch) => `${ch.action === 'set' ? '' : '-'}${ch.name}`).join(', ');
            if (opts.deploy === false || !deployed) {
              out.result({ app, env: scope, changed, kept: true, deploy: null }, () => `${c.green('✓')} ${what} recorded for ${app} (${scope}); ${deployed ? 'the next `gantry deploy` applies it' : 'not deployed yet: `gantry deploy` applies it'}`);
              return 0;
            }
            // A release like any other: same gates, rolled back on failure, and then the change is not kept.
            const loaded = loadFor(opts);
            let kept = false;
            try {
              const { code } = await interruptible(out, 'deploy', (signal) => s.engine.deploy(loaded, opts.target, { wait: opts.wait, signal }), (o, r) => {
                kept = r.status === 'succeeded';
                o.result({ app, env: scope, changed, kept, deploy: r }, () => printEnvResult(r, what, kept));
                return kept ? 0 : 1;
              });
              if (kept) ensureAutoscaler(s, opts);
              return code;
            } finally {
              // Refused (lock held, invalid manifest ...) or failed: the stored values go back to what they were.
              if (!kept) store.write(app, opts.env, before);
            }
          });
        }),
      );
  }

  withGlobals(env.command('list'))
    .description("every variable the app gets in this environment, with where it comes from (the manifest, or `gantry env set`)")
    .addHelpText('after', '\nExamples:\n  gantry env list\n  gantry env list --env production --json')
    .action(
      run(async (opts, out) => {
        const file = loadFileOnly(opts);
        return withSession(opts, out, async (s) => {
          const app = s.loaded.manifest.app;
          const store = new EnvStore(s.stateDir);
          const base = store.own(app, undefined);
          const own = opts.env ? store.own(app, opts.env) : {};
          const vars = Object.entries(s.loaded.manifest.env)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([name, value]) => ({ name, value, source: name in own ? `gantry env set (${opts.env})` : name in base ? 'gantry env set' : 'manifest', overrides_manifest: (name in own || name in base) && name in file.manifest.env }));
          out.result({ app, env: opts.env ?? 'default', vars }, () => (vars.length ? vars.map((v) => `${v.name}=${v.value}${c.dim(`  (${v.source}${v.overrides_manifest ? ', over the manifest' : ''})`)}`) : ['no environment variables']));
          return 0;
        });
      }),
    );
}

function printEnvResult(r: DeployResult, what: string, kept: boolean): string[] {
  if (r.unchanged) return [`${c.green('✓')} ${what}: the current release already runs with these values`];
  if (kept) return [`${c.green('✓')} ${what}: release ${r.version ?? r.release ?? ''} of ${r.app} on ${r.target} succeeded in ${(r.duration_ms / 1000).toFixed(1)}s`, ...(r.url ? [`  ${c.bold('url:')} ${r.url}`] : [])];
  return [`${c.red('✗')} ${what}: the release ${r.status === 'rolled_back' ? c.yellow('rolled back') : c.red('failed')}, so the change was not kept`, ...(r.reason ? [`  ${c.bold('why:')} ${r.reason}`] : []), ...(r.error?.hint ? [`  ${c.bold('hint:')} ${r.error.hint}`] : [])];
}
