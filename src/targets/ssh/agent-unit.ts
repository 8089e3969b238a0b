import { DEFAULTS } from '../../core/defaults.js';
import { AGENT_INFO_FILE } from '../../agent/protocol.js';

/**
 * Where the node agent of one app lives on a host, and the systemd unit that runs it.
 * `root` is the target's `path` (validated: an absolute path of plain segments), `app`
 * the manifest's app name ([a-z0-9-]): both safe in a unit file and in argv.
 */
export interface AgentPlace {
  root: string;
  app: string;
}

export const agentUnitName = (app: string): string => `gantry-agent-${app}.service`;
/** Instances are `gantry-<app>@<instance>.service` (transient units; `gantry-<app>@*` lists them). */
export const instanceUnitPrefix = (app: string): string => `gantry-${app}@`;
export const instanceUnitName = (app: string, id: string): string => `${instanceUnitPrefix(app)}${id}.service`;
export const agentDirOf = (p: AgentPlace): string => `${p.root}/${p.app}/agent`;
export const agentInfoFileOf = (p: AgentPlace): string => `${agentDirOf(p)}/${AGENT_INFO_FILE}`;
/** Content-addressed: each Gantry version's bundle beside the others, the unit names the one it runs. */
export const bundlePathOf = (root: string, hash: string): string => `${root}/.gantry/agent/${hash}/gantry-agent.mjs`;
export const releaseDirOf = (p: AgentPlace, release: string): string => `${p.root}/${p.app}/releases/${release}`;
export const unitFileOf = (app: string): string => `/etc/systemd/system/${agentUnitName(app)}`;

/**
 * A word of ExecStart= in a unit file: systemd expands `%` specifiers and `$VAR` there ("%%" and
 * "$$" are the literal characters). The words are validated paths and names; the Node binary's
 * path comes from the host (`command -v node`), so it is escaped all the same.
 */
const unitFileWord = (w: string): string => w.replace(/%/g, '%%').replace(/\$/g, '$$$$');

/**
 * The agent's unit. Restart=on-failure brings it back after a crash; its instances are
 * units of their own (their own cgroups), so stopping or restarting it leaves them serving.
 * No Limit* settings: a limit above the container's or host's hard limit makes the unit fail to start.
 */
export function agentUnitText(p: AgentPlace, opts: { node: string; bundle: string; proxyHost: string; proxyPort: number }): string {
  const argv = [opts.node, opts.bundle, '--dir', agentDirOf(p), '--host', opts.proxyHost, '--port', String(opts.proxyPort), '--backend', 'systemd', '--unit-prefix', instanceUnitPrefix(p.app)].map(unitFileWord);
  return [
    '# Written by Gantry: the node agent of this app (proxy, health probes, instance units).',
    '[Unit]',
    `Description=Gantry node agent for ${p.app}`,
    'After=network.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${argv.join(' ')}`,
    'Restart=on-failure',
    `RestartSec=${Math.max(1, Math.round(DEFAULTS.supervisor.backoffInitialMs / 1000))}`,
    'Environment=GANTRY_AGENT=1',
    `WorkingDirectory=${agentDirOf(p)}`,
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** `--host H --port P` in the unit's ExecStart: where the agent's proxy first listens. */
const PROXY_ADDRESS_RE = / --host \S+ --port (\d+) /;

/**
 * Two unit texts that differ at most in the proxy's address: a running agent moves its
 * proxy itself (POST /v1/proxy/listen, the former address kept through a grace), so such a
 * change needs no restart, which would leave the app's port unanswered meanwhile. Only a new
 * port counts: the same port on another interface could not be bound beside the old one.
 */
export function differsOnlyInProxyPort(before: string, after: string): boolean {
  const strip = (t: string): string => t.replace(PROXY_ADDRESS_RE, ' --host - --port - ');
  const [was, now] = [PROXY_ADDRESS_RE.exec(before)?.[1], PROXY_ADDRESS_RE.exec(after)?.[1]];
  return was !== undefined && now !== undefined && was !== now && strip(before) === strip(after);
}
