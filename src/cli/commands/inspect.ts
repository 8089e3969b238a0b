import type { Command } from 'commander';
import { DEFAULTS } from '../../core/defaults.js';
import { parseDuration } from '../../core/duration.js';
import { GantryError } from '../../core/errors.js';
import { formatLogLine, hostsOf, instanceLines, withHostOption, type HostOpts } from '../hosts.js';
import { c, type Output } from '../output.js';
import { remoteLogs, remoteOf, remoteStatus, type RemoteOpts } from '../remote.js';
import type { TargetStatus } from '../../engine/index.js';
import { run, withGlobals, withSession } from './common.js';

const stateColor = (s: string): string => (s === 'running' ? c.green(s) : s === 'scaled_to_zero' ? c.dim(s) : s === 'degraded' ? c.yellow(s) : s === 'stopped' ? c.dim(s) : s === 'deploying' ? c.cyan(s) : s);

/** 3d4h, 2h5m, 4m12s, 9s: like `docker ps`'s "Up ..." */
export function formatUptime(s: number): string {
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${s % 60}s`;
  return `${s}s`;
}

export function formatBytes(b: number): string {
  if (b >= 1024 ** 3) return `${(b / 1024 ** 3).toFixed(1)} GiB`;
  if (b >= 1024 ** 2) return `${(b / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.round(b / 1024)} KiB`;
}

/** Uptime, CPU and memory of one instance, where known (`compose ps`, `heroku ps`). */
const usageText = (i: TargetStatus['instances'][number]): string =>
  [i.uptime_s !== undefined ? `up ${formatUptime(i.uptime_s)}` : undefined, i.cpu_percent !== undefined ? `cpu ${i.cpu_percent.toFixed(1)}%` : undefined, i.rss_bytes !== undefined ? `rss ${formatBytes(i.rss_bytes)}` : undefined].filter(Boolean).join('  ');

/** The headline's state: during a rollout, which release it brings and in which phase. */
function stateText(t: TargetStatus): string {
  const d = t.deploying;
  if (t.state === 'deploying' && d) return `${stateColor(t.state)} release ${d.release ?? '?'} (${d.kind ?? 'deploy'}: ${d.phase}${d.step ? `, step ${d.step} of ${d.steps}` : ''})${t.release ? `, serving ${t.release} until it switches` : ''}`;
  return `${stateColor(t.state)}${t.release ? `, release ${t.release}` : ''}`;
}

export function registerInspect(program: Command): void {
  withHostOption(withGlobals(program.command('status')), 'many-node targets: only this host\'s state and instances')
    .description('what runs now: release, state, instances and their health (grouped by node on a many-node target), the access URL')
    .option('--server <url>', 'ask this `gantry server` (default: GANTRY_SERVER; the key is GANTRY_TOKEN)')
    .action(
      run<HostOpts & RemoteOpts>(async (opts, out) => {
        const remote = remoteOf(opts);
        if (remote) return printStatus(out, await remoteStatus(remote, opts));
        return withSession(opts, out, async (s) => printStatus(out, await s.engine.status(s.loaded, opts.target, { hosts: hostsOf(opts) })));
      }),
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
    .option('--server <url>', 'read them through this `gantry server` (default: GANTRY_SERVER; the key is GANTRY_TOKEN)')
    .option('--timestamps', 'print each line\'s time (ISO 8601, UTC)')
    .option('--since <when>', 'only lines from this long ago (10m, 2h, 30s) or since this time (2026-11-24T10:00:00Z)')
    .option('--grep <pattern>', 'only lines matching this regular expression')
    .option('--instance <id>', 'only this instance\'s lines (its id, or the start of it; see `gantry status`)')
    .option('--access', 'the proxy\'s access log (one line per request: method, path without query, status, time) instead of the app\'s output')
    .addHelpText('after', '\nExamples:\n  gantry logs -n 20 --timestamps\n  gantry logs --since 10m --grep "error|warn"\n  gantry logs -f --instance 3f2a9c-0\n  gantry logs --access --since 5m\n  gantry -f deploy/gantry.yaml logs -f   # -f before the command names the manifest\n  gantry logs -f --host web1,web2\n  gantry logs --file examples/hello-node/gantry.yaml --json   # each line has "node" on a many-node target')
    .action(
      run<{ lines: string; follow?: boolean; timestamps?: boolean; since?: string; grep?: string; instance?: string; access?: boolean } & HostOpts & RemoteOpts>(async (opts, out) => {
        const n = Number(opts.lines);
        if (!Number.isInteger(n) || n < 0) throw new GantryError('USAGE', `-n wants a whole number, got "${opts.lines}"`, 'e.g. gantry logs -n 50');
        const since = opts.since === undefined ? undefined : sinceTime(opts.since);
        let grep: RegExp | undefined;
        try {
          grep = opts.grep === undefined ? undefined : new RegExp(opts.grep);
        } catch (e) {
          throw new GantryError('USAGE', `--grep: ${(e as Error).message}`, 'e.g. gantry logs --grep "error|timeout"');
        }
        const remote = remoteOf(opts);
        if (remote) {
          if (since || grep || opts.instance || opts.access) throw new GantryError('USAGE', '--since, --grep, --instance and --access are not available through a server yet', 'run `gantry logs` on the server host, or without those options');
          const ac = new AbortController();
          process.once('SIGINT', () => ac.abort());
          const lines: unknown[] = [];
          await remoteLogs(remote, opts, n, Boolean(opts.follow) && !opts.json, (l) => (opts.json ? lines.push(l) : process.stdout.write(`${formatLogLine(l, { timestamps: opts.timestamps })}\n`)), ac.signal);
          if (opts.json) out.result(lines, () => []);
          return 0;
        }
        return withSession(opts, out, async (s) => {
          const ac = new AbortController();
          process.once('SIGINT', () => ac.abort());
          const lines = [];
          for await (const l of s.engine.logs(s.loaded, opts.target, { lines: n, follow: Boolean(opts.follow) && !opts.json, signal: ac.signal, hosts: hostsOf(opts), since, grep, instance: opts.instance, access: opts.access })) {
            if (opts.json) lines.push(l);
            else process.stdout.write(`${formatLogLine(l, { timestamps: opts.timestamps })}\n`);
          }
          if (opts.json) out.result(lines, () => []);
          return 0;
        });
      }),
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

/** `gantry status`'s output (the same whether the engine ran here or on a server). */
function printStatus(out: Output, st: { app: string; targets: TargetStatus[] }): number {
  out.result(st, () =>
    st.targets.flatMap((t) => [
      `${c.bold(st.app)} on ${c.bold(t.target)} (${t.type}): ${stateText(t)}`,
      ...(t.url ? [`  url: ${t.url}`] : []),
      ...(t.maintenance ? [c.yellow(`  maintenance: on since ${t.maintenance.since}: requests get 503${t.maintenance.message ? ` ("${t.maintenance.message}")` : ''}; \`gantry maintenance off\` ends it`)] : []),
      ...(t.state === 'scaled_to_zero' ? [c.dim('  scaled to 0 instances: nothing runs, requests get 503; `gantry scale N` starts N again (deploys keep 0 until run.instances changes)')] : []),
      ...(t.state !== 'scaled_to_zero' && t.desired.by === 'scale' && t.desired.state === 'running' ? [c.dim(`  ${t.desired.instances} instance(s) set by \`gantry scale\`; deploys keep this count until run.instances changes in the manifest`)] : []),
      ...instanceLines(t, (i) => `${i.healthy ? c.green('●') : c.red('●')} ${i.id}  ${i.state}${i.routed ? ' routed' : ''}  pid ${i.pid ?? '-'}  restarts ${i.restarts}  ${usageText(i)}${usageText(i) ? '  ' : ''}${i.url}${i.detail ? c.dim(`  (${i.detail})`) : ''}`),
      ...(t.platform ? platformLines(t.platform) : []),
      ...(t.deploying ? [c.yellow(`  ${t.deploying.kind ?? 'deploy'} in progress (${t.deploying.phase}): ${t.deploying.holder} since ${t.deploying.since}${t.deploying.waiting ? `, waiting for ${t.deploying.waiting}` : ''}`)] : []),
      ...(t.last_deployment ? [c.dim(`  last: ${t.last_deployment.kind} ${t.last_deployment.status}${t.last_deployment.reason ? ` (${t.last_deployment.reason})` : ''}`)] : []),
      ...(t.reconciled ?? []).map((r) => c.yellow(`  reconciled interrupted deployment ${r.deployment} (at ${r.interrupted_at}): ${r.outcome}${r.resumed ? ` (resumed its stored plan: ${r.resumed.step} ${r.resumed.result})` : ''}`)),
    ]),
  );
  return 0;
}

/** What the platform runs (workloads per release and track, their pods) and its recent events, Warning ones first. */
function platformLines(p: NonNullable<TargetStatus['platform']>): string[] {
  const events = [...p.events.filter((e) => e.type === 'Warning'), ...p.events.filter((e) => e.type !== 'Warning')].slice(0, 8);
  return [
    ...(p.error ? [c.yellow(`  platform: ${p.error}`)] : []),
    ...p.workloads.flatMap((w) => [
      `  ${w.kind} ${w.name}${w.track ? ` (${w.track}${w.release ? `, release ${w.release}` : ''})` : ''}: ${w.ready}/${w.desired} ready`,
      ...w.pods.map((pod) => `    ${pod.ready ? c.green('●') : c.red('●')} ${pod.name}  ${pod.phase}  ${pod.ready ? 'ready' : 'not ready'}  restarts ${pod.restarts}${pod.reason ? c.dim(`  (${pod.reason})`) : ''}`),
    ]),
    ...(events.length ? ['  recent events:'] : []),
    ...events.map((e) => {
      const line = `    ${e.type} ${e.reason} ${e.object}: ${e.message}${e.count > 1 ? ` (x${e.count})` : ''}${e.at ? c.dim(`  ${e.at}`) : ''}`;
      return e.type === 'Warning' ? c.yellow(line) : line;
    }),
  ];
}

/** `--since`: a duration back from now (10m) or a time (ISO 8601), as an ISO time. */
function sinceTime(v: string): string {
  const ms = parseDuration(v);
  if (ms !== undefined) return new Date(Date.now() - ms).toISOString();
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return new Date(t).toISOString();
  throw new GantryError('USAGE', `--since wants a duration (10m, 2h, 30s) or a time (2026-11-24T10:00:00Z), got "${v}"`, 'e.g. gantry logs --since 10m');
}
