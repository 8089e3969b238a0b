import type { Agent as UndiciAgent } from 'undici';
import { AgentClient } from '../../agent/client.js';
import { AGENT_ERROR_FILE, type AgentInfo } from '../../agent/protocol.js';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { AgentHost } from '../shared/agent-router.js';
import { agentBundle } from './agent-bundle.js';
import { agentDirOf, agentInfoFileOf, differsOnlyInProxyPort, agentUnitName, agentUnitText, bundlePathOf, instanceUnitPrefix, unitFileOf, type AgentPlace } from './agent-unit.js';
import type { SshConnection } from './connection.js';
import { atLeast, ensureHostNode, parseNodeVersion, type HostNode } from './host-node.js';
import { tunnelDispatcher } from './http-tunnel.js';
import { execOk, readRemoteFile, writeRemoteFile } from './remote-files.js';

/**
 * One round trip for what a redeploy finds in place (a host of a fleet is asked this on each
 * command): the host's node and its version, whether the bundle is there, the unit file, the
 * unit's state and the agent's info file. $1 bundle, $2 unit file, $3 unit, $4 info file.
 * Files come base64-encoded on one line each (any bytes; "-" when absent).
 */
const STEADY_PROBE_SCRIPT = `p=$(command -v node) && v=$("$p" --version 2>/dev/null) && echo "node=$p" && echo "version=$v"
[ -f "$1" ] && echo bundle=yes
systemctl show -p ActiveState -p MainPID -- "$3"
for f in "$2" "$4"; do if [ -f "$f" ]; then printf 'file='; base64 -w0 -- "$f"; echo; else echo file=-; fi; done
exit 0`;

/**
 * The node agent of one app on one SSH host, run by systemd as `gantry-agent-<app>.service`.
 * Its admin port and token are read from its info file on the host (`cat` of a fixed path);
 * its API is reached through a forwarded channel of the SSH connection to the host's
 * 127.0.0.1: Gantry opens no port on the host.
 */
export class SshAgentHost implements AgentHost {
  private readonly dispatchers = new Map<number, UndiciAgent>();
  /** The Node the agent was last installed with (which one, and why). */
  node?: HostNode;

  constructor(
    private readonly conn: SshConnection,
    private readonly place: AgentPlace,
  ) {}

  get unit(): string {
    return agentUnitName(this.place.app);
  }

  private dispatcher(port: number): UndiciAgent {
    let d = this.dispatchers.get(port);
    if (!d) this.dispatchers.set(port, (d = tunnelDispatcher(this.conn, port)));
    return d;
  }

  private async readInfo(): Promise<AgentInfo | undefined> {
    const text = await readRemoteFile(this.conn, agentInfoFileOf(this.place));
    try {
      return text ? (JSON.parse(text) as AgentInfo) : undefined;
    } catch {
      return undefined; // being written
    }
  }

  private async unitState(): Promise<{ active: string; pid: number }> {
    const r = await this.conn.exec(['systemctl', 'show', '-p', 'ActiveState', '-p', 'MainPID', this.unit]);
    const p = Object.fromEntries(r.stdout.toString('utf8').trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    return { active: p.ActiveState ?? 'inactive', pid: Number(p.MainPID ?? 0) };
  }

  private client(info: AgentInfo): Promise<AgentClient> {
    return AgentClient.remote(agentDirOf(this.place), info, {
      dispatcher: this.dispatcher(info.adminPort),
      gone: async () => !['active', 'activating', 'deactivating', 'reloading'].includes((await this.unitState()).active),
      logHint: `journalctl -u ${this.unit} on ${this.conn.label}`,
      where: this.conn.label,
    });
  }

  async find(): Promise<AgentClient | undefined> {
    const info = await this.readInfo();
    if (!info) return undefined;
    return this.client(info).catch(() => undefined);
  }

  /**
   * Installs what the agent needs (a Node, the bundle, the unit) where it is missing or
   * outdated, starts the unit, and waits for the agent it runs to answer.
   */
  async ensure(proxy: { host: string; port: number }): Promise<AgentClient> {
    const steady = await this.steady(proxy);
    if (steady) return steady;
    const install = await this.install(proxy);
    const changed = install === 'changed';
    const before = await this.unitState();
    // Unchanged, or only the proxy's port moved (the router asks the running agent to listen there too).
    if (!changed && before.active === 'active') {
      const info = await this.readInfo();
      if (info && info.pid === before.pid) {
        const c = await this.client(info).catch(() => undefined);
        if (c) return c;
      }
    }
    // Enabled: the agent comes back after a reboot and adopts or starts its instances again (`gantry stop` disables it).
    await execOk(this.conn, ['systemctl', 'enable', '--quiet', this.unit], `enabling ${this.unit}`);
    await execOk(this.conn, ['systemctl', changed ? 'restart' : 'start', this.unit], `starting ${this.unit}`);
    const deadline = Date.now() + DEFAULTS.ssh.agentStartTimeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const st = await this.unitState();
      const info = await this.readInfo();
      if (info && st.active === 'active' && info.pid === st.pid) {
        try {
          return await this.client(info);
        } catch (e) {
          last = (e as Error).message;
        }
      }
      if (st.active === 'failed') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw await this.startFailure(proxy, last);
  }

  /**
   * The running agent when everything it needs is already in place as this Gantry would write it
   * (host's node, bundle, unit file, the unit active with the pid of the info file), found with one
   * command instead of one per check; undefined sends ensure() the long way (install, start, wait).
   */
  private async steady(proxy: { host: string; port: number }): Promise<AgentClient | undefined> {
    const bundle = agentBundle();
    const bundlePath = bundlePathOf(this.place.root, bundle.hash);
    const r = await this.conn.exec(['sh', '-c', STEADY_PROBE_SCRIPT, 'gantry-agent-probe', bundlePath, unitFileOf(this.place.app), this.unit, agentInfoFileOf(this.place)]);
    if (r.code !== 0) return undefined;
    const lines = r.stdout.toString('utf8').split('\n');
    const value = (key: string): string | undefined => lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
    const files = lines.filter((l) => l.startsWith('file=')).map((l) => (l === 'file=-' ? undefined : Buffer.from(l.slice(5), 'base64').toString('utf8')));
    const [binary, version] = [value('node'), value('version')];
    const parsed = version ? parseNodeVersion(version) : undefined;
    if (!binary || !version || !parsed || !atLeast(parsed, parseNodeVersion(bundle.minNode)!) || value('bundle') !== 'yes') return undefined;
    const node: HostNode = { binary, version, source: 'host', reason: `the host's node ${version} is at least ${bundle.minNode}` };
    const text = agentUnitText(this.place, { node: binary, bundle: bundlePath, proxyHost: proxy.host, proxyPort: proxy.port });
    const [unitFile, infoText] = files;
    // Only the proxy's port moved: the router asks the running agent to listen there too (the unit file is rewritten for its next start).
    if (unitFile === undefined || (unitFile !== text && !differsOnlyInProxyPort(unitFile, text))) return undefined;
    if (value('ActiveState') !== 'active' || !infoText) return undefined;
    let info: AgentInfo;
    try {
      info = JSON.parse(infoText) as AgentInfo;
    } catch {
      return undefined;
    }
    if (info.pid !== Number(value('MainPID'))) return undefined;
    const client = await this.client(info).catch(() => undefined);
    if (!client) return undefined;
    if (unitFile !== text) {
      await writeRemoteFile(this.conn, unitFileOf(this.place.app), text, '644');
      await execOk(this.conn, ['systemctl', 'daemon-reload'], 'systemctl daemon-reload');
    }
    this.node = node;
    return client;
  }

  private async startFailure(proxy: { port: number }, last: string): Promise<GantryError> {
    const err = await readRemoteFile(this.conn, `${agentDirOf(this.place)}/${AGENT_ERROR_FILE}`).catch(() => undefined);
    const parsed = err ? (JSON.parse(err) as { code?: string; message: string }) : undefined;
    if (parsed?.code === 'EADDRINUSE') {
      return new GantryError('PORT_IN_USE', `port ${proxy.port} is already in use on ${this.conn.label}, so Gantry's proxy cannot serve the app there`, `stop whatever listens on ${proxy.port} there (ss -ltnp 'sport = :${proxy.port}') or set another port for the target`);
    }
    const journal = await this.conn.exec(['journalctl', '-u', this.unit, '-n', '15', '--no-pager', '-o', 'cat']).catch(() => undefined);
    const tail = journal?.stdout.toString('utf8').trim().split('\n').slice(-5).join(' | ');
    return new GantryError('AGENT_UNREACHABLE', `the Gantry agent (${this.unit}) did not start on ${this.conn.label}${parsed ? `: ${parsed.message}` : last ? `: ${last}` : ''}${tail ? ` (journal: ${tail})` : ''}`, `journalctl -u ${this.unit} on ${this.conn.label}`);
  }

  /**
   * Node, bundle and unit file in place. 'changed': the agent must restart to run what the unit
   * says; 'port': only the proxy's port differs, which a running agent takes on without a restart.
   */
  private async install(proxy: { host: string; port: number }): Promise<'unchanged' | 'port' | 'changed'> {
    const bundle = agentBundle();
    this.node = await ensureHostNode(this.conn, this.place.root, bundle.minNode);
    const bundlePath = bundlePathOf(this.place.root, bundle.hash);
    if ((await this.conn.exec(['test', '-f', bundlePath])).code !== 0) await writeRemoteFile(this.conn, bundlePath, bundle.content, '644');
    await execOk(this.conn, ['mkdir', '-p', '-m', '700', agentDirOf(this.place)], 'creating the agent directory');
    const text = agentUnitText(this.place, { node: this.node.binary, bundle: bundlePath, proxyHost: proxy.host, proxyPort: proxy.port });
    const file = unitFileOf(this.place.app);
    const before = await readRemoteFile(this.conn, file);
    if (before === text) return 'unchanged';
    await writeRemoteFile(this.conn, file, text, '644');
    await execOk(this.conn, ['systemctl', 'daemon-reload'], 'systemctl daemon-reload');
    return before !== undefined && differsOnlyInProxyPort(before, text) ? 'port' : 'changed';
  }

  /** No agent answers: stop the app's instance units it left, and their env files. */
  async reap(timeoutMs: number): Promise<void> {
    const pattern = `${instanceUnitPrefix(this.place.app)}*.service`;
    await this.conn.exec(['systemctl', 'stop', pattern], { timeoutMs: timeoutMs + 5_000 });
    await this.conn.exec(['systemctl', 'reset-failed', pattern]);
    await this.conn.exec(['rm', '-rf', '--', `${agentDirOf(this.place)}/env`]);
  }

  /** After `gantry stop`: the agent does not come back at boot. */
  async disable(): Promise<void> {
    await this.conn.exec(['systemctl', 'disable', '--now', '--quiet', this.unit]);
  }

  async freePort(): Promise<number> {
    throw new GantryError('INTERNAL', 'the ssh target gives its proxy port explicitly');
  }

  async close(): Promise<void> {
    const all = [...this.dispatchers.values()];
    this.dispatchers.clear();
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  }
}
