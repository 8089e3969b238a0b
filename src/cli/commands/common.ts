import { Command, Option } from 'commander';
import { join } from 'node:path';
import { DEFAULTS } from '../../core/defaults.js';
import { markStartup } from '../../core/startup-marks.js';
import { describeChanges, type DeployResult } from '../../engine/index.js';
import { manifestPath, openSession, stateDirFor, type GlobalOptions, type Session } from '../context.js';
import { locateManifest } from '../manifest-file.js';
import { c, Output, reportError } from '../output.js';
import { refuseRemote } from '../remote.js';

/**
 * Options every command takes (the CLI contract). `logs` keeps -f for --follow,
 * so it gets --file only (and `gantry -f FILE logs -f` names the file before it).
 * No default for the file: `run()` looks for one upwards from here when none is given.
 */
export function withGlobals(cmd: Command, opts: { shortFile?: boolean } = {}): Command {
  const fileFlags = opts.shortFile === false ? '--file <path>' : '-f, --file <path>';
  return cmd
    .addOption(new Option(fileFlags, `manifest file (default: ${DEFAULTS.manifestFile} here or in the nearest parent directory)`))
    .option('-t, --target <name>', 'target from the manifest (default: the first one)')
    .option('-e, --env <name>', 'environment overlay from the manifest')
    .option('--json', 'print one JSON document on stdout');
}

export type Action<O> = (opts: O & GlobalOptions, out: Output, ...args: string[]) => Promise<number>;

/** Wrap a command body: typed errors become a message, a hint and exit code 1 or 2. */
export function run<O>(action: Action<O>) {
  return async (...argv: unknown[]): Promise<void> => {
    markStartup('action');
    const cmd = argv[argv.length - 1] as Command;
    const opts = cmd.opts() as O & GlobalOptions;
    locateFor(cmd, opts);
    // A variadic argument (`<NAME=VALUE...>`) comes as an array: its items are positional too.
    const positional = argv.slice(0, -2).flat().filter((a): a is string => typeof a === 'string');
    const out = new Output(Boolean(opts.json));
    let code: number;
    try {
      code = await action(opts, out, ...positional);
    } catch (err) {
      out.endProgress();
      code = reportError(err, Boolean(opts.json), join(stateDirFor(manifestPath(opts)), 'gantry-error.log'));
    }
    out.endProgress();
    process.exitCode = code;
  };
}

/** Fill `opts.file` from -f after the command, else -f before it, else a search upwards (not for `init`: it writes here). */
function locateFor(cmd: Command, opts: GlobalOptions): void {
  const names: string[] = [];
  let given: string | undefined = opts.file;
  for (let c: Command | null = cmd; c; c = c.parent) {
    if (c.parent) names.unshift(c.name());
    given ??= (c.opts() as { file?: string }).file;
  }
  opts.commandName = names.join(' ');
  const loc = locateManifest(given, process.cwd(), { search: opts.commandName !== 'init' });
  opts.file = loc.file;
  opts.manifestHow = loc.how;
}

export async function withSession<T>(opts: GlobalOptions, out: Output, fn: (s: Session) => Promise<T>): Promise<T> {
  // GANTRY_SERVER set: a command without a remote form refuses rather than act on this machine.
  refuseRemote(process.argv[2] ?? 'this command');
  const s = openSession(opts, out.progress);
  try {
    return await fn(s);
  } finally {
    s.close();
  }
}

/** Print a deploy-like result and return its exit code. */
export function printDeployResult(out: Output, r: DeployResult): number {
  out.result(r, () => {
    const lines: string[] = [];
    const verb = r.kind === 'deploy' ? 'deploy' : r.kind;
    if (r.unchanged && r.kind === 'rollback') {
      lines.push(`${c.green('✓')} release ${c.bold(r.version ?? '')} (${r.release ?? ''}) of ${r.app} on ${r.target} is already the current release: nothing to roll back`);
    } else if (r.unchanged) {
      lines.push(`${c.green('✓')} nothing to deploy: release ${c.bold(r.release ?? '')} of ${r.app} on ${r.target} already has this code, manifest, env and secrets (--force redeploys)`);
      if (r.url) lines.push(`  ${c.bold('url:')} ${r.url}`);
    } else if (r.status === 'succeeded') {
      const scaled = 'from' in r ? ` (${String((r as { from: number }).from)} → ${String((r as unknown as { to: number }).to)} instances)` : '';
      lines.push(`${c.green('✓')} ${verb} of ${c.bold(r.app)} ${r.release ? `release ${r.version ? `${c.bold(r.version)} (${r.release})` : c.bold(r.release)} ` : ''}to ${r.target} succeeded in ${(r.duration_ms / 1000).toFixed(1)}s${scaled}`);
      if (r.url) lines.push(`  ${c.bold('url:')} ${r.url}`);
    } else {
      lines.push(`${c.red('✗')} ${verb} of ${c.bold(r.app)} ${r.release ? `release ${r.release} ` : ''}${r.status === 'rolled_back' ? c.yellow('rolled back') : c.red('failed')}`);
      if (r.reason) lines.push(`  ${c.bold('why:')} ${r.reason}`);
      if (r.error?.hint) lines.push(`  ${c.bold('hint:')} ${r.error.hint}`);
      for (const a of r.analysis ?? []) lines.push(`  ${c.bold('analysis')} at ${a.percent}%: ${a.verdict}; canary ${a.canary.requests} req, ${(a.canary.errorRate * 100).toFixed(1)}% errors, p99 ${a.canary.p99Ms.toFixed(1)}ms${a.stable ? `; stable ${a.stable.requests} req, ${(a.stable.errorRate * 100).toFixed(1)}% errors, p99 ${a.stable.p99Ms.toFixed(1)}ms` : ''}`);
      if (r.logs?.length) lines.push(`  ${c.bold('last log lines:')}`, ...r.logs.map((l) => `    ${l}`));
      if (r.url && r.status === 'rolled_back') lines.push(`  ${c.bold('still serving:')} ${r.url}`);
    }
    if (r.reverts && !r.unchanged) lines.push(`  ${c.bold(r.status === 'succeeded' ? 'reverted:' : 'would have reverted:')}`, ...describeChanges(r.reverts).map((l) => `    ${l}`));
    if (r.nodes?.length) lines.push(...nodeLines(r.nodes));
    for (const rc of r.reconciled ?? []) lines.push(c.yellow(`  note: an interrupted deployment ${rc.deployment} (at ${rc.interrupted_at}) was reconciled: ${rc.outcome}${rc.resumed ? ` (resumed its stored plan: ${rc.resumed.step} ${rc.resumed.result})` : ''}`));
    return lines;
  });
  return r.status === 'succeeded' ? 0 : 1;
}

/** One line per node of a many-node target: its batch, outcome, time and why it failed. */
function nodeLines(nodes: NonNullable<DeployResult['nodes']>): string[] {
  const mark = { succeeded: c.green('✓'), rolled_back: c.yellow('↩'), failed: c.red('✗'), timed_out: c.red('⏱'), not_started: '·' } as const;
  const width = Math.max(...nodes.map((n) => n.node.length));
  return [
    `  ${c.bold('nodes:')}`,
    ...nodes.map((n) => `    ${mark[n.status]} ${n.node.padEnd(width)}  ${n.batch >= 0 ? `batch ${n.batch + 1}` : '       '}  ${n.status.replace('_', ' ')}${n.duration_ms !== undefined ? ` in ${(n.duration_ms / 1000).toFixed(1)}s` : ''}${n.error ? `: ${n.error}` : ''}`),
  ];
}

/** Exit code of a command ended by SIGINT/SIGTERM (128 + SIGINT, as shells report Ctrl-C). */
export const INTERRUPTED_EXIT = 130;

/**
 * Run a rollout (deploy, rollback, restart) with SIGINT/SIGTERM turned into an
 * abort: the first one asks the engine to end the rollout back at the previous
 * release (one line says so) and the command then prints what happened and
 * exits 130; a second one exits at once, and the next gantry command's
 * reconciliation finishes the roll back.
 */
export async function interruptible(out: Output, verb: string, fn: (signal: AbortSignal) => Promise<DeployResult>, print: (out: Output, r: DeployResult) => number = printDeployResult): Promise<{ result: DeployResult; code: number }> {
  const ac = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (received) {
      process.stderr.write(`${sig} again: exiting now; the next gantry command (e.g. \`gantry status\`) finishes rolling back\n`);
      process.exit(INTERRUPTED_EXIT);
    }
    received = sig;
    process.stderr.write(`${sig} received: aborting the ${verb}, rolling back to the previous release (press Ctrl-C again to exit at once)\n`);
    ac.abort(sig === 'SIGINT' ? 'Ctrl-C (SIGINT)' : sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await fn(ac.signal);
    if (!received) return { result: r, code: print(out, r) };
    print(out, { ...r, interrupted: received } as DeployResult);
    // On stderr even with --json (like the line at the signal): the JSON document on stdout stays one document.
    process.stderr.write(`${r.status === 'succeeded' ? `interrupted by ${received}, but the ${verb} had already completed: release ${r.release ?? ''} is current` : `interrupted by ${received}: the ${verb} ended ${r.status}${r.status === 'rolled_back' && r.previous_release ? `; release ${r.previous_release} serves` : ''}`}\n`);
    return { result: r, code: INTERRUPTED_EXIT };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
