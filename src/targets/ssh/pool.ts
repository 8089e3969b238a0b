import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../../core/defaults.js';
import { loadCredentials, resolveUserPath, type SshCredentials } from './auth.js';
import type { SshConfig } from './config.js';
import { SshConnection, type SshEndpoint } from './connection.js';
import type { HostSpec } from './host-spec.js';

export interface SshPoolOptions {
  readonly credentials: SshCredentials;
  readonly knownHostsFile: string;
  readonly trustOnFirstUse: boolean;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** For hosts that name no user (default: the local user, as ssh does). */
  readonly defaultUser?: string;
  /** Every connection goes through this jump host. */
  readonly bastion?: HostSpec;
}

/**
 * One connection per host for the whole Gantry command: the first use opens it, later
 * uses (and concurrent ones) share it, a connection that drops is opened again on next use.
 * The bastion, when set, is one more pooled connection every host is tunnelled through.
 */
export class SshPool {
  private readonly open = new Map<string, Promise<SshConnection>>();

  constructor(private readonly opts: SshPoolOptions) {}

  /** Builds a pool from the target's config: credentials resolved now (a bad key fails before any host is touched). */
  static async fromConfig(config: SshConfig, ctx: { baseDir: string; readSecret?: (name: string) => Promise<string>; env?: NodeJS.ProcessEnv }): Promise<SshPool> {
    const credentials = await loadCredentials({ key: config.key, agent: config.agent, baseDir: ctx.baseDir, readSecret: ctx.readSecret, env: ctx.env });
    return new SshPool({
      credentials,
      knownHostsFile: config.known_hosts ? resolveUserPath(config.known_hosts, ctx.baseDir) : join(homedir(), DEFAULTS.ssh.knownHostsFile),
      trustOnFirstUse: config.trust_on_first_use,
      connectTimeoutMs: config.connect_timeout,
      commandTimeoutMs: config.command_timeout,
      defaultUser: config.user,
      bastion: config.bastion,
    });
  }

  endpointOf(spec: HostSpec): SshEndpoint {
    return { host: spec.host, port: spec.port, user: spec.user ?? this.opts.defaultUser ?? userInfo().username, name: spec.name };
  }

  /** The connection to a host, opened on first use. */
  connect(spec: HostSpec): Promise<SshConnection> {
    return this.get(spec, true);
  }

  private get(spec: HostSpec, viaBastion: boolean): Promise<SshConnection> {
    const endpoint = this.endpointOf(spec);
    const key = `${endpoint.user}@${endpoint.host}:${endpoint.port}${viaBastion && this.opts.bastion ? ' via bastion' : ''}`;
    const cached = this.open.get(key);
    if (cached) return cached;
    const opening = (async () => {
      const via = viaBastion && this.opts.bastion ? await this.get(this.opts.bastion, false) : undefined;
      const conn = await SshConnection.open({ ...this.opts, endpoint, ...(via ? { via } : {}) });
      conn.onClose(() => {
        if (this.open.get(key) === opening) this.open.delete(key);
      });
      return conn;
    })();
    this.open.set(key, opening);
    // A failed connect is not cached: the next use tries again.
    opening.catch(() => {
      if (this.open.get(key) === opening) this.open.delete(key);
    });
    return opening;
  }

  /** Closes every connection (hosts first, then the bastion they go through). */
  async closeAll(): Promise<void> {
    const all = [...this.open.entries()];
    this.open.clear();
    const settle = async (p: Promise<SshConnection>) => (await p.catch(() => undefined))?.close();
    await Promise.all(all.filter(([k]) => k.endsWith('via bastion') || !this.opts.bastion).map(([, p]) => settle(p)));
    await Promise.all(all.filter(([k]) => !(k.endsWith('via bastion') || !this.opts.bastion)).map(([, p]) => settle(p)));
  }
}
