/**
 * Traffic through Gantry's proxy, hosted by the host agent: the half of a
 * runtime that every proxied target (process, docker, later ssh) shares.
 */
import { DEFAULTS } from '../../core/defaults.js';
import { AgentClient } from '../../agent/client.js';
import type { AgentMaintenance, AgentProxyTimeouts } from '../../agent/protocol.js';
import { freePort } from '../../agent/free-port.js';
import { reapFromState } from '../../agent/orphans.js';

export interface RouterRoute {
  instance: string;
  release: string;
  url: string;
  weight: number;
}

export interface RouterSettings {
  /** The configured public port, if the manifest sets one. */
  port?: number;
  host: string;
  /** Read each time: a restore may replace the target's settings under a live runtime. */
  settings(): Record<string, unknown>;
  saveSettings(next: Record<string, unknown>): void;
}

/** Where the agent runs and how to find, start and clean up after it: this machine, or a remote host. */
export interface AgentHost {
  /** The running agent, if any (no side effects). */
  find(): Promise<AgentClient | undefined>;
  /** The running agent, started when absent, its proxy on host:port. */
  ensure(proxy: { host: string; port: number }): Promise<AgentClient>;
  /** No agent answers: stop what a dead one left running. */
  reap(timeoutMs: number): Promise<void>;
  /** A free port for the proxy where the agent runs. */
  freePort(host: string): Promise<number>;
}

/** The agent of a state directory on this machine (process and docker targets). */
export function localAgentHost(agentDir: string): AgentHost {
  return {
    find: () => AgentClient.find(agentDir),
    ensure: (proxy) => AgentClient.ensure(agentDir, proxy),
    reap: async (timeoutMs) => void (await reapFromState(agentDir, timeoutMs)),
    freePort: (host) => freePort(host),
  };
}

export class AgentRouter {
  private agent?: AgentClient;
  private readonly host: AgentHost;

  /** `agent`: the local agent's directory, or where a remote agent runs. */
  constructor(
    agent: string | AgentHost,
    private readonly cfg: RouterSettings,
  ) {
    this.host = typeof agent === 'string' ? localAgentHost(agent) : agent;
    this.localDir = typeof agent === 'string' ? agent : undefined;
  }

  /** The agent's directory when it runs on this machine (its access log is there). */
  readonly localDir: string | undefined;

  /** The running agent, if any (never starts one). */
  async running(): Promise<AgentClient | undefined> {
    this.agent ??= await this.host.find();
    return this.agent;
  }

  async required(): Promise<AgentClient> {
    if (!this.agent) await this.ensureRouter();
    return this.agent!;
  }

  /**
   * The proxy port is chosen once (from the manifest or a free port) and kept, so the URL never changes.
   * `fresh`: chosen now (nobody was given it yet), so another may be taken if it is lost before the bind.
   */
  private async proxyPort(): Promise<{ port: number; fresh: boolean }> {
    if (this.cfg.port) return { port: this.cfg.port, fresh: false };
    const saved = this.cfg.settings().proxyPort;
    if (typeof saved === 'number') return { port: saved, fresh: false };
    const port = await this.host.freePort(this.cfg.host);
    this.cfg.saveSettings({ ...this.cfg.settings(), proxyPort: port });
    return { port, fresh: true };
  }

  /**
   * The agent on its port. A port the kernel called free can be taken before the agent binds it
   * (another program's connection gets it as its local port): a freshly chosen one is chosen again.
   */
  private async ensureAgent(): Promise<{ agent: AgentClient; port: number }> {
    for (let attempt = 1; ; attempt++) {
      const { port, fresh } = await this.proxyPort();
      try {
        this.agent = await this.host.ensure({ host: this.cfg.host, port });
        return { agent: this.agent, port };
      } catch (err) {
        if (!fresh || attempt >= DEFAULTS.proxy.freePortAttempts || (err as { code?: string }).code !== 'PORT_IN_USE') throw err;
        const { proxyPort: _lost, ...rest } = this.cfg.settings();
        this.cfg.saveSettings(rest);
      }
    }
  }

  async ensureRouter(opts?: AgentProxyTimeouts): Promise<{ url: string }> {
    const { agent, port } = await this.ensureAgent();
    // The manifest moved the access point: the running proxy listens there too, and keeps the old address
    // until the rollout that moved it is done (retireFormerAccess), so no client on either sees a refusal.
    if (agent.info.proxyPort !== port) await agent.listenProxy(this.cfg.host, port);
    // Also for an agent that was already running: the manifest may have changed them.
    if (opts) await agent.setProxyTimeouts(opts);
    return { url: agent.proxyUrl };
  }

  /**
   * Where the app's proxy answers now; undefined when no agent runs (whatever listens on the
   * configured port then is not this app, so no URL is better than someone else's).
   */
  async accessUrl(): Promise<string | undefined> {
    const agent = await this.running();
    return agent?.proxyUrl;
  }

  /** After a port change took effect: stop listening at the former address. */
  async retireFormerAccess(): Promise<void> {
    const agent = await this.running();
    if (agent) await agent.retireProxyListeners();
  }

  async setMaintenance(m: AgentMaintenance | undefined): Promise<void> {
    const agent = await this.required();
    await agent.setMaintenance(m);
  }

  async maintenance(): Promise<AgentMaintenance | undefined> {
    const agent = await this.running();
    return agent ? ((await agent.maintenance()).maintenance ?? undefined) : undefined;
  }

  async setRoutes(routes: RouterRoute[]): Promise<void> {
    const agent = await this.required();
    await agent.setBackends(routes.map((r) => ({ id: r.instance, release: r.release, url: r.url, weight: r.weight })));
  }

  async routes(): Promise<RouterRoute[]> {
    const agent = await this.running();
    if (!agent) return [];
    return (await agent.backends()).map((b) => ({ instance: b.id, release: b.release, url: b.url, weight: b.weight }));
  }

  async drain(instanceIds: string[], timeoutMs: number): Promise<void> {
    const agent = await this.running();
    if (agent && instanceIds.length) await agent.drain(instanceIds, timeoutMs);
  }

  async trafficStats() {
    const agent = await this.running();
    return agent ? agent.stats() : undefined;
  }

  async resetTrafficStats(): Promise<void> {
    const agent = await this.running();
    if (agent) await agent.resetStats();
  }

  async shutdown(timeoutMs: number): Promise<void> {
    const agent = await this.running();
    // A dead agent's instances still run (own process groups): its state file names them.
    if (agent) await agent.shutdown(timeoutMs);
    else await this.host.reap(timeoutMs);
    this.agent = undefined;
  }

  forget(): void {
    this.agent = undefined;
  }
}
