/**
 * `--host` on the CLI (repeatable, or a comma list), and the per-node views:
 * log lines prefixed with their timestamp and node, status grouped by node.
 */
import type { Command } from 'commander';
import type { LogLine, TargetStatus } from '../engine/index.js';
import { c } from './output.js';

export interface HostOpts {
  host?: string[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((h) => h.trim()).filter(Boolean)];

/** Adds `--host`; `note` says what it does for this command (or why it is refused). */
export function withHostOption(cmd: Command, note: string): Command {
  return cmd.option('--host <name>', `${note} (repeat it, or give a comma list)`, collect);
}

/** The hosts named, or undefined for all. */
export function hostsOf(opts: HostOpts): string[] | undefined {
  return opts.host?.length ? opts.host : undefined;
}

/**
 * One log line for the terminal: its time (with `timestamps`), its node (many-node targets), its instance, its
 * text; Gantry's own supervisor lines (started, exited, restarting) are marked `[gantry]`, stderr is red.
 */
export function formatLogLine(l: LogLine, opts: { timestamps?: boolean } = {}): string {
  const where = [opts.timestamps ? c.dim(l.at ?? '-'.padEnd(24)) : undefined, l.node ? c.cyan(l.node) : undefined, c.dim(l.instance)].filter(Boolean).join(' ');
  const text = l.stream === 'err' ? c.red(l.text) : l.stream === 'sys' ? c.yellow(`[gantry] ${l.text}`) : l.text;
  return `${where} ${text}`;
}

type InstanceLine = (i: TargetStatus['instances'][number]) => string;

/** The instance lines of a target, under a line per node when it has nodes. */
export function instanceLines(t: TargetStatus, line: InstanceLine): string[] {
  if (!t.nodes) return t.instances.map((i) => `  ${line(i)}`);
  return t.nodes.flatMap((n) => [
    `  ${c.bold(n.node)}: ${n.state === 'unreachable' ? c.red(`unreachable: ${n.error ?? ''}`) : n.state}${n.held ? c.dim(' (stopped with `gantry stop --host`; deploys leave it out until `gantry start --host ' + n.node + '`)') : ''}, ${n.serving}/${n.instances} serving`,
    ...t.instances.filter((i) => i.node === n.node).map((i) => `    ${line(i)}`),
  ]);
}
