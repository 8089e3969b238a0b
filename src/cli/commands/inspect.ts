import type { Command } from 'commander';
import { DEFAULTS } from '../../core/defaults.js';
import { parseDuration } from '../../core/duration.js';
import { GantryError } from '../../core/errors.js';
import { formatLogLine, hostsOf, instanceLines, withHostOption, type HostOpts } from '../hosts.js';
import { c } from '../output.js';
import { run, withGlobals, withSession } from './common.js';

const stateColor = (s: string): string => (s === 'running' ? c.green(s) : s === 'scaled_to_zero' ? c.dim(s) : s === 'degraded' ? c.yellow(s) : s === 'stopped' ? c.dim(s) : s);

export function registerInspect(program: Command): void {
  withHostOption(withGlobals(program.command('status')), 'many-node targets: only this host\'s state and instances')
    .description('what runs now: release, state, instances and their health (grouped by node on a many-node target), the access URL')
    .action(
      run<HostOpts>(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const st = await s.engine.status(s.loaded, opts.target, { hosts: hostsOf(opts) });
          out.result(st, () =>
            st.targets.flatMap((t) => [
              `${c.bold(st.app)} on ${c.bold(t.target)} (${t.type}): ${stateColor(t.state)}${t.release ? `, release ${t.release}` : ''}`,
              ...(t.url ? [`  url: ${t.url}`] : []),
              ...(t.state === 'scaled_to_zero' ? [c.dim('  scaled to 0 instances: nothing runs, requests get 503; `gantry scale N` starts N again (deploys keep 0 until run.instances changes)')] : []),
              ...(t.state !== 'scaled_to_zero' && t.desired.by === 'scale' && t.desired.state === 'running' ? [c.dim(`  ${t.desired.instances} instance(s) set by \`gantry scale\`; deploys keep this count until run.instances changes in the manifest`)] : []),
              ...instanceLines(t, (i) => `${i.healthy ? c.green('●') : c.red('●')} ${i.id}  ${i.state}${i.routed ? ' routed' : ''}  pid ${i.pid ?? '-'}  restarts ${i.restarts}  ${i.url}${i.detail ? c.dim(`  (${i.detail})`) : ''}`),
              ...(t.deploying ? [c.yellow(`  deploy in progress: ${t.deploying.holder} since ${t.deploying.since}${t.deploying.waiting ? `, waiting for ${t.deploying.waiting}` : ''}`)] : []),
              ...(t.last_deployment ? [c.dim(`  last: ${t.last_deployment.kind} ${t.last_deployment.status}${t.last_deployment.reason ? ` (${t.last_deployment.reason})` : ''}`)] : []),
              ...(t.reconciled ?? []).map((r) => c.yellow(`  reconciled interrupted deployment ${r.deployment} (at ${r.interrupted_at}): ${r.outcome}${r.resumed ? ` (resumed its stored plan: ${r.resumed.step} ${r.resumed.result})` : ''}`)),
            ]),
          );
          return 0;
        }),
      ),
    );

  withGlobals(program.command('releases'))
    .description('kept releases, newest first, with their version (v1, v2 ...) and git commit; marks the current one')
    .action(
      run(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const list = await s.engine.releases(s.loaded, opts.target);
          out.result(list, () => (list.length ? list.map((r) => `${r.current ? c.green('*') : ' '} ${r.version.padEnd(4)} ${r.release}  ${r.status.padEnd(10)}  ${r.created_at}${r.commit ? `  ${r.commit.slice(0, 10)}${r.dirty ? c.yellow('+dirty') : ''}${r.branch ? ` (${r.branch})` : ''}${r.author ? c.dim(`  ${r.author}`) : ''}` : ''}`) : ['no releases yet']));
          return 0;
        }),
      ),
    );

  withHostOption(withGlobals(program.command('logs'), { shortFile: false }), 'many-node targets: only this host\'s lines')
    .description("the app's own output (stdout and stderr of its instances; Gantry's supervisor lines marked [gantry]), or the proxy's access log; on a many-node target from every host (or --host), prefixed with the host")
    .option('-n, --lines <n>', 'lines to show (per host on a many-node target; with --since/--grep: matching lines)', String(DEFAULTS.logsTailLines))
    .option('-f, --follow', 'keep printing new lines, from every host at once as they come (Ctrl-C to stop)')
    .option('--timestamps', 'print each line\'s time (ISO 8601, UTC)')
    .option('--since <when>', 'only lines from this long ago (10m, 2h, 30s) or since this time (2026-11-24T10:00:00Z)')
    .option('--grep <pattern>', 'only lines matching this regular expression')
    .option('--instance <id>', 'only this instance\'s lines (its id, or the start of it; see `gantry status`)')
    .option('--access', 'the proxy\'s access log (one line per request: method, path without query, status, time) instead of the app\'s output')
    .addHelpText('after', '\nExamples:\n  gantry logs -n 20 --timestamps\n  gantry logs --since 10m --grep "error|warn"\n  gantry logs -f --instance 3f2a9c-0\n  gantry logs --access --since 5m\n  gantry -f deploy/gantry.yaml logs -f   # -f before the command names the manifest\n  gantry logs -f --host web1,web2\n  gantry logs --file examples/hello-node/gantry.yaml --json   # each line has "node" on a many-node target')
    .action(
      run<{ lines: string; follow?: boolean; timestamps?: boolean; since?: string; grep?: string; instance?: string; access?: boolean } & HostOpts>(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const n = Number(opts.lines);
          if (!Number.isInteger(n) || n < 0) throw new GantryError('USAGE', `-n wants a whole number, got "${opts.lines}"`, 'e.g. gantry logs -n 50');
          const since = opts.since === undefined ? undefined : sinceTime(opts.since);
          let grep: RegExp | undefined;
          try {
            grep = opts.grep === undefined ? undefined : new RegExp(opts.grep);
          } catch (e) {
            throw new GantryError('USAGE', `--grep: ${(e as Error).message}`, 'e.g. gantry logs --grep "error|timeout"');
          }
          const ac = new AbortController();
          process.once('SIGINT', () => ac.abort());
          const lines = [];
          for await (const l of s.engine.logs(s.loaded, opts.target, { lines: n, follow: Boolean(opts.follow) && !opts.json, signal: ac.signal, hosts: hostsOf(opts), since, grep, instance: opts.instance, access: opts.access })) {
            if (opts.json) lines.push(l);
            else process.stdout.write(`${formatLogLine(l, { timestamps: opts.timestamps })}\n`);
          }
          if (opts.json) out.result(lines, () => []);
          return 0;
        }),
      ),
    );

  withGlobals(program.command('events [deployment]'))
    .description('what the engine did: the events of a deployment, or the latest events')
    .option('-n, --lines <n>', 'how many recent events', '50')
    .action(
      run<{ lines: string }>(async (opts, out, deployment) =>
        withSession(opts, out, async (s) => {
          const limit = Number(opts.lines);
          if (!Number.isInteger(limit) || limit < 1) throw new GantryError('USAGE', `-n wants a whole number, got "${opts.lines}"`, 'e.g. gantry events -n 100');
          const events = s.engine.events(s.loaded, opts.target, { deploymentId: deployment, limit });
          out.result(events, () => events.map((e) => `${c.dim(e.at)} ${e.level === 'error' ? c.red(e.level) : e.level} ${e.deploymentId ?? ''} ${e.message}`));
          return 0;
        }),
      ),
    );

  withGlobals(program.command('history'))
    .description('recent deployments with their outcome')
    .action(
      run(async (opts, out) =>
        withSession(opts, out, async (s) => {
          const list = s.engine.history(s.loaded, opts.target);
          out.result(list, () => list.map((d) => `${d.id}  ${d.kind.padEnd(8)} ${d.status.padEnd(11)} ${d.release ?? ''}  ${d.createdAt}${d.reason ? c.dim(`  ${d.reason}`) : ''}`));
          return 0;
        }),
      ),
    );
}

/** `--since`: a duration back from now (10m) or a time (ISO 8601), as an ISO time. */
function sinceTime(v: string): string {
  const ms = parseDuration(v);
  if (ms !== undefined) return new Date(Date.now() - ms).toISOString();
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return new Date(t).toISOString();
  throw new GantryError('USAGE', `--since wants a duration (10m, 2h, 30s) or a time (2026-11-24T10:00:00Z), got "${v}"`, 'e.g. gantry logs --since 10m');
}
