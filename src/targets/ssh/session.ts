/**
 * What one Gantry command holds open on an ssh target: the connection pool (one connection
 * per host, opened on first use), each host's runtime, and the release staging they share.
 * `nodes()` and `runtime()` of one command hand out the same host runtimes; closing the
 * fleet runtime closes them all and the connections.
 */
import type { TargetContext, TargetNode, TargetRuntime } from '../../engine/target.js';
import { parseSize } from '../../core/size.js';
import { FleetRuntime } from '../shared/fleet-runtime.js';
import { lazyRuntime } from '../shared/lazy-runtime.js';
import type { SshConfig } from './config.js';
import type { HostSpec } from './host-spec.js';
import { SshPool } from './pool.js';
import { ReleaseSync } from './release-sync.js';
import { SshNodeRuntime } from './ssh-node-runtime.js';
import { unitFileOf } from './agent-unit.js';
import { execOk } from './remote-files.js';

export class SshSession {
  private poolOpening?: Promise<SshPool>;
  private readonly sync: ReleaseSync;
  readonly hosts: ReadonlyArray<{ spec: HostSpec; runtime: TargetRuntime }>;

  constructor(private readonly ctx: TargetContext<SshConfig>) {
    this.sync = new ReleaseSync({ path: ctx.config.path, app: ctx.app });
    this.hosts = ctx.config.hosts.map((spec) => ({ spec, runtime: lazyRuntime(() => this.open(spec), { stage: true }) }));
  }

  private pool(): Promise<SshPool> {
    return (this.poolOpening ??= SshPool.fromConfig(this.ctx.config, { baseDir: this.ctx.appDir, ...(this.ctx.readSecret ? { readSecret: this.ctx.readSecret } : {}) }).catch((e: unknown) => {
      this.poolOpening = undefined;
      throw e;
    }));
  }

  /** The command's connection to this host (opened on first use). */
  async connection(spec: HostSpec) {
    return (await this.pool()).connect(spec);
  }

  private async open(spec: HostSpec): Promise<TargetRuntime> {
    const cfg = this.ctx.config;
    const conn = await (await this.pool()).connect(spec);
    const memory = cfg.resources?.memory ? parseSize(cfg.resources.memory) : undefined;
    const resources = { ...(memory ? { memoryMaxBytes: memory } : {}), ...(cfg.resources?.cpus ? { cpuQuotaPercent: Math.round(cfg.resources.cpus * 100) } : {}) };
    return new SshNodeRuntime({
      conn,
      app: this.ctx.app,
      root: cfg.path,
      proxyPort: cfg.port,
      // Behind nginx the app's port is for nginx alone.
      proxyHost: cfg.reverse_proxy === 'nginx' ? '127.0.0.1' : '0.0.0.0',
      publicHost: spec.host,
      sync: this.sync,
      ...(cfg.reverse_proxy === 'nginx' ? { nginx: { ...(cfg.server_name ? { serverName: cfg.server_name } : {}), ...(cfg.tls ? { tls: cfg.tls } : {}) } } : {}),
      ...(Object.keys(resources).length ? { resources } : {}),
    });
  }

  nodes(): TargetNode[] {
    return this.hosts.map((h) => ({ name: h.spec.name, runtime: async () => h.runtime }));
  }

  /** All hosts as one runtime; its close() ends the session. */
  fleet(): FleetRuntime {
    const fleet = new FleetRuntime(this.hosts.map((h) => ({ name: h.spec.name, runtime: h.runtime })));
    fleet.close = () => this.close();
    return fleet;
  }

  /**
   * `gantry destroy`, after the fleet's shutdown: the app's directory on every host (releases, metadata,
   * the agent's state and env files; `shared/` too unless `keepData`) and its agent unit file. The
   * content-addressed blobs its releases linked to are left for the store's own pruning.
   */
  async removeApp(keepData: boolean): Promise<string[]> {
    const dir = `${this.ctx.config.path}/${this.ctx.app}`;
    return Promise.all(
      this.ctx.config.hosts.map(async (spec) => {
        const conn = await (await this.pool()).connect(spec);
        const listed = await conn.exec(['ls', '-A', '--', dir]);
        const entries = listed.code === 0 ? listed.stdout.toString('utf8').split('\n').filter((e) => e && !(keepData && e === 'shared')) : [];
        if (entries.length) await execOk(conn, ['rm', '-rf', '--', ...entries.map((e) => `${dir}/${e}`)], `removing ${dir}`);
        await conn.exec(['rmdir', '--', dir]);
        await execOk(conn, ['rm', '-f', '--', unitFileOf(this.ctx.app)], 'removing the agent unit');
        await conn.exec(['systemctl', 'daemon-reload']);
        return `${spec.name}: ${dir}${keepData ? ' (shared/ kept)' : ''} and its agent unit`;
      }),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.runtime.close().catch(() => undefined)));
    this.sync.dispose();
    const pool = await this.poolOpening?.catch(() => undefined);
    this.poolOpening = undefined;
    await pool?.closeAll();
  }
}

const sessions = new WeakMap<TargetContext<SshConfig>, SshSession>();

/** The session of the command that opened this target (one per target context). */
export function sessionOf(ctx: TargetContext<SshConfig>): SshSession {
  let s = sessions.get(ctx);
  if (!s) sessions.set(ctx, (s = new SshSession(ctx)));
  return s;
}
