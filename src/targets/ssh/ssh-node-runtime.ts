/**
 * The runtime of one SSH host: Gantry's node agent runs there as a systemd unit
 * (`gantry-agent-<app>.service`) and owns the proxy, the health probes and the
 * instances, each a transient systemd unit (`gantry-<app>@<instance>.service`).
 * Everything goes over the host's one SSH connection: commands as argv, the
 * agent's admin API through a forwarded channel. A many-node target's `nodes()`
 * gives one of these per host.
 */
import type { AgentProbeWhere, AgentResources } from '../../agent/protocol.js';
import { GantryError } from '../../core/errors.js';
import type { ExecRequest, InstanceHandle, InstanceRequest, LogLine, ObservedInstance, ReleaseRef, Route, RouterOptions, StageResult, TargetRuntime } from '../../engine/target.js';
import { AgentRouter } from '../shared/agent-router.js';
import { ProxiedRuntime } from '../shared/proxied-runtime.js';
import { agentDirOf, instanceUnitName, instanceUnitPrefix, releaseDirOf, type AgentPlace } from './agent-unit.js';
import type { SshConnection } from './connection.js';
import type { HostNode } from './host-node.js';
import { journalLines } from './journal.js';
import { applyNginxSite, removeNginxSite } from './nginx-host.js';
import { SshAgentHost } from './remote-agent.js';
import { pruneReleases, switchCurrent, writeMetadata } from './layout.js';
import { releaseMetadata, type ReleaseSync } from './release-sync.js';
import { runRemoteExec } from './remote-exec.js';
import { runRemoteTask } from './remote-task.js';

/** The environment an instance starts from on the host (its unit has nothing else); the manifest's env comes on top. */
const HOST_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface SshNodeOptions {
  conn: SshConnection;
  app: string;
  /** The target's `path`: releases are at `<path>/<app>/releases/<id>/`. */
  root: string;
  /** Port of the agent's proxy on the host (the app's stable port there). */
  proxyPort: number;
  /** Address the proxy listens on (default 0.0.0.0: the host serves the app). */
  proxyHost?: string;
  /** Host name or address clients use (the access URL). */
  publicHost: string;
  /** Limits of each instance (systemd MemoryMax / CPUQuota). */
  resources?: AgentResources;
  /** Brings releases to the host (shared by the hosts of one command); absent: releases must already be there. */
  sync?: ReleaseSync;
  /** Releases kept on the host (besides the current and the last known-good). */
  keepReleases?: number;
  /** reverse_proxy: nginx: a site in front of the proxy (which then listens on 127.0.0.1 only). */
  nginx?: { serverName?: string; tls?: { certificate: string; key: string } };
}

const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function safeId(what: string, id: string): string {
  if (!SAFE_ID.test(id)) throw new GantryError('INTERNAL', `${what} ${JSON.stringify(id)} is not a safe name`);
  return id;
}

export class SshNodeRuntime extends ProxiedRuntime implements TargetRuntime {
  private readonly place: AgentPlace;
  private readonly agentHost: SshAgentHost;
  private readonly staged = new Map<string, Promise<StageResult>>();
  /** The release `current` points at, as this runtime last set it. */
  private current?: string;

  constructor(private readonly opts: SshNodeOptions) {
    const place = { root: opts.root, app: opts.app };
    const agentHost = new SshAgentHost(opts.conn, place);
    super(new AgentRouter(agentHost, { port: opts.proxyPort, host: opts.proxyHost ?? '0.0.0.0', settings: () => ({}), saveSettings: () => undefined }));
    this.place = place;
    this.agentHost = agentHost;
  }

  get name(): string {
    return this.opts.conn.label;
  }

  /** The Node the agent runs on here (the host's, or Gantry's own it uploaded), once the agent was ensured. */
  get agentNode(): HostNode | undefined {
    return this.agentHost.node;
  }

  private url(): string {
    const nginx = this.opts.nginx;
    if (nginx) return `${nginx.tls ? 'https' : 'http'}://${nginx.serverName?.split(' ')[0] ?? bracketed(this.opts.publicHost)}`;
    return `http://${bracketed(this.opts.publicHost)}:${this.opts.proxyPort}`;
  }

  override async ensureRouter(opts?: RouterOptions): Promise<{ url: string }> {
    await this.router.ensureRouter(opts);
    const nginx = this.opts.nginx;
    if (nginx) await applyNginxSite(this.opts.conn, { app: this.place.app, upstreamPort: this.opts.proxyPort, ...(nginx.serverName ? { serverName: nginx.serverName } : {}), ...(nginx.tls ? { tls: nginx.tls } : {}) });
    return { url: this.url() };
  }

  override async accessUrl(): Promise<string | undefined> {
    return this.url();
  }

  /** The release's files on this host, sent once per command (later calls share the first). */
  stage(release: ReleaseRef): Promise<StageResult> {
    const sync = this.opts.sync;
    if (!sync) return Promise.resolve({ bytesSent: 0, filesSent: 0, filesTotal: 0 });
    let p = this.staged.get(release.id);
    if (!p) {
      this.staged.set(release.id, (p = sync.stage(this.opts.conn, release)));
      p.catch(() => this.staged.delete(release.id));
    }
    return p;
  }

  async startInstance(req: InstanceRequest): Promise<InstanceHandle> {
    await this.stage(req.release);
    const agent = await this.router.required();
    const st = await agent.startInstance({
      id: safeId('instance id', req.id),
      release: req.release.id,
      cwd: releaseDirOf(this.place, safeId('release id', req.release.id)),
      command: req.release.run.command ?? '',
      // Instances are reached through the proxy only: they listen on the host's loopback.
      env: { ...HOST_ENV, HOST: '127.0.0.1', ...req.env },
      secretEnv: req.secretEnv,
      logFile: `journald:${instanceUnitName(this.place.app, req.id)}`,
      health: req.release.health,
      ...(this.opts.resources ? { resources: this.opts.resources } : {}),
    });
    return { id: st.id, release: st.release, endpoint: { host: '127.0.0.1', port: st.port } };
  }

  async stopInstance(id: string, timeoutMs: number): Promise<void> {
    const agent = await this.router.running();
    if (agent) await agent.stopInstance(id, timeoutMs);
  }

  async stopInstanceLater(id: string, afterMs: number, timeoutMs: number): Promise<void> {
    const agent = await this.router.running();
    if (agent) await agent.stopInstanceLater(id, afterMs, timeoutMs);
  }

  async instances(): Promise<ObservedInstance[]> {
    const agent = await this.router.running();
    if (!agent) return [];
    return (await agent.instances()).map((i) => ({
      id: i.id,
      release: i.release,
      endpoint: { host: '127.0.0.1', port: i.port },
      node: this.name,
      state: i.state,
      pid: i.pid,
      restarts: i.restarts,
      startedAt: i.startedAt,
      lastExit: i.lastExit,
    }));
  }

  /** From journald: the instance units' output and systemd's lines about them. */
  logs(opts: { lines: number; follow: boolean; instances?: string[]; signal?: AbortSignal }): AsyncIterable<LogLine> {
    return journalLines(this.opts.conn, { unitPrefix: instanceUnitPrefix(this.place.app), ids: opts.instances?.map((id) => safeId('instance id', id)), lines: opts.lines, follow: opts.follow, signal: opts.signal });
  }

  /** In the release's directory: a pre_deploy hook runs before any instance of the release, so the release is brought here first. */
  async runTask(task: { release: ReleaseRef; command: string; env: Record<string, string>; secretEnv: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number; output: string }> {
    await this.stage(task.release);
    return runRemoteTask(this.opts.conn, {
      unitPrefix: instanceUnitPrefix(this.place.app),
      envDir: `${agentDirOf(this.place)}/env`,
      cwd: releaseDirOf(this.place, safeId('release id', task.release.id)),
      command: task.command,
      env: { ...HOST_ENV, ...task.env, ...task.secretEnv },
      timeoutMs: task.timeoutMs,
    });
  }

  /**
   * `gantry exec` on this host: beside the instance named, else beside a running instance of the
   * release here (with that instance's env file: its env, secrets and PORT), else with the release's
   * environment written for this command alone. In the release's directory (persist paths are linked there).
   */
  async exec(req: ExecRequest): Promise<{ exitCode: number }> {
    const running = (await this.instances()).filter((i) => i.state === 'running');
    const beside = req.instance ? running.find((i) => i.id === req.instance) : running.find((i) => i.release === req.release.id);
    const envDir = `${agentDirOf(this.place)}/env`;
    const instanceEnvFile = beside ? `${envDir}/${safeId('instance id', beside.id)}.env` : undefined;
    const usable = instanceEnvFile && (await this.opts.conn.exec(['test', '-f', instanceEnvFile])).code === 0;
    return runRemoteExec(this.opts.conn, {
      unitPrefix: instanceUnitPrefix(this.place.app),
      envDir,
      cwd: releaseDirOf(this.place, safeId('release id', beside?.release ?? req.release.id)),
      argv: req.argv,
      ...(usable ? { instanceEnvFile } : {}),
      env: { ...HOST_ENV, HOST: '127.0.0.1', ...req.env, ...req.secretEnv },
      io: req.io,
    });
  }

  /** Resident memory of each instance unit, from systemd's memory accounting (MemoryCurrent). */
  async instanceMemoryBytes(): Promise<Record<string, number>> {
    const running = (await this.instances()).filter((i) => i.state === 'running');
    if (running.length === 0) return {};
    const units = running.map((i) => instanceUnitName(this.place.app, i.id));
    const r = await this.opts.conn.exec(['systemctl', 'show', '-p', 'MemoryCurrent', '--value', ...units]);
    const values = r.stdout.toString('utf8').split('\n').filter((l) => l !== '');
    return Object.fromEntries(running.map((i, k) => [i.id, Number(values[k]) > 0 && Number(values[k]) < 2 ** 63 ? Number(values[k]) : 0]));
  }

  /** From systemd's CPU accounting of each instance unit. */
  async instanceCpuSeconds(): Promise<Record<string, number>> {
    const running = (await this.instances()).filter((i) => i.state === 'running');
    if (running.length === 0) return {};
    const units = running.map((i) => instanceUnitName(this.place.app, i.id));
    const r = await this.opts.conn.exec(['systemctl', 'show', '-p', 'CPUUsageNSec', '--value', ...units]);
    const values = r.stdout.toString('utf8').split('\n').filter((l) => l !== '');
    return Object.fromEntries(running.map((i, k) => [i.id, Number(values[k]) > 0 && Number(values[k]) < 2 ** 63 ? Number(values[k]) / 1e9 : 0]));
  }

  /** The health command runs in a shell on the host beside the instance (the agent adds PORT and GANTRY_INSTANCE). */
  protected probeWhere(): AgentProbeWhere {
    return { kind: 'host', env: HOST_ENV };
  }

  /**
   * `current` follows what this host serves: once every route goes to one release, the link is
   * switched to it (atomically), its metadata says so, and releases past retention are removed.
   * A host that went back on its own thus points at the release it serves, whatever the others do.
   */
  override async setRoutes(routes: Route[]): Promise<void> {
    await super.setRoutes(routes);
    const releases = new Set(routes.map((r) => r.release));
    const [only] = releases;
    if (releases.size !== 1 || only === undefined || only === this.current) return;
    const loc = { path: this.place.root, app: this.place.app, releaseId: safeId('release id', only) };
    await switchCurrent(this.opts.conn, loc);
    this.current = only;
    await writeMetadata(this.opts.conn, loc, releaseMetadata(this.place.app, only, 'succeeded'));
    await pruneReleases(this.opts.conn, { path: this.place.root, app: this.place.app, protect: [only], ...(this.opts.keepReleases ? { keep: this.opts.keepReleases } : {}) });
  }

  /** Nothing to do: `current` is switched when the host's traffic moves (setRoutes). */
  async markCurrent(_release: ReleaseRef): Promise<void> {}

  /** Stops every instance unit and the agent, which then stays off (also after a reboot) until the next deploy or start. */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.opts.nginx) await removeNginxSite(this.opts.conn, this.place.app);
    await this.router.shutdown(timeoutMs);
    await this.agentHost.disable();
  }

  override async close(): Promise<void> {
    await super.close();
    await this.agentHost.close();
  }
}
