/**
 * The supervisor's job for containers: the engine's restart policy does not
 * restart a container stopped with `docker kill`, so the agent polls the
 * containers it was told to keep running and starts an exited one again
 * (with the supervisor's backoff), unrouted until it passes its health gate.
 */
import type Docker from 'dockerode';
import { DEFAULTS } from '../core/defaults.js';
import { Backoff } from '../supervisor/index.js';
import type { DockerClients } from './docker-clients.js';
import { FALLBACK_HEALTH, probeInstance, waitHealthy } from './health.js';
import type { WatchedContainer } from './protocol.js';

const POLL_MS = 1_000;

export interface ContainerWatchHooks {
  /** Take the instance out of the routes while it is down; remembered for resume. */
  suspend(id: string): void;
  /** Route it again (if it was routed before it died). */
  resume(id: string): void;
  log(message: string): void;
  /** The watched set changed (persist it). */
  changed(): void;
}

export class ContainerWatcher {
  private readonly watched = new Map<string, WatchedContainer>();
  private readonly restarts = new Map<string, number>();
  private readonly backoffs = new Map<string, Backoff>();
  private readonly busy = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly hooks: ContainerWatchHooks,
    private readonly docker: DockerClients,
  ) {}

  watch(c: WatchedContainer): void {
    this.watched.set(c.id, c);
    this.timer ??= setInterval(() => void this.tick(), POLL_MS);
  }

  forget(id: string): void {
    this.watched.delete(id);
    this.backoffs.delete(id);
  }

  has(id: string): boolean {
    return this.watched.has(id);
  }

  all(): WatchedContainer[] {
    return [...this.watched.values()];
  }

  /** Restarts the agent made, by instance (added to the engine's own count in what the runtime observes). */
  counts(): Array<{ id: string; restarts: number }> {
    return [...this.watched.keys()].map((id) => ({ id, restarts: this.restarts.get(id) ?? 0 }));
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.watched.clear();
  }

  /** Probe a watched container until healthy, then route it again (after the agent's own restart). */
  async gate(id: string): Promise<boolean> {
    const c = this.watched.get(id);
    if (!c) return false;
    const health = c.health ?? FALLBACK_HEALTH;
    const req = { instance: id, endpoint: { host: '127.0.0.1', port: c.port }, health, where: { kind: 'container' as const, container: c.container, dockerHost: c.dockerHost } };
    const { ok } = await waitHealthy(health, () => probeInstance(req, this.docker), { alive: () => this.watched.has(id) });
    if (ok && this.watched.has(id)) this.hooks.resume(id);
    return ok;
  }

  private client(host: string | undefined): Promise<Docker> {
    return this.docker.get(host);
  }

  private async tick(): Promise<void> {
    for (const c of [...this.watched.values()]) {
      if (this.busy.has(c.id)) continue;
      const info = await (await this.client(c.dockerHost))
        .getContainer(c.container)
        .inspect()
        .catch((e: { statusCode?: number }) => (e.statusCode === 404 ? null : undefined));
      if (info === undefined) continue; // engine unreachable: try again next tick
      if (info === null) {
        // Removed behind our back: nothing to restart; `gantry deploy` starts a replacement.
        this.hooks.log(`container ${c.container} of ${c.id} is gone; no longer watched`);
        this.hooks.suspend(c.id);
        this.forget(c.id);
        this.hooks.changed();
        continue;
      }
      const st = info.State;
      if (st.Running || st.Restarting || (st.Status !== 'exited' && st.Status !== 'dead')) continue;
      this.busy.add(c.id);
      void this.restart(c, Date.parse(st.StartedAt) || Date.now()).finally(() => this.busy.delete(c.id));
    }
  }

  private async restart(c: WatchedContainer, startedAtMs: number): Promise<void> {
    this.hooks.suspend(c.id);
    let b = this.backoffs.get(c.id);
    if (!b) {
      b = new Backoff(DEFAULTS.supervisor.backoffInitialMs, DEFAULTS.supervisor.backoffMaxMs, DEFAULTS.supervisor.backoffResetAfterMs);
      this.backoffs.set(c.id, b);
    }
    const delay = b.next(Date.now() - startedAtMs);
    this.hooks.log(`container ${c.container} of ${c.id} exited behind Gantry's back; starting it again in ${delay}ms`);
    await new Promise((r) => setTimeout(r, delay));
    if (!this.watched.has(c.id)) return;
    try {
      await (await this.client(c.dockerHost)).getContainer(c.container).start();
    } catch (err) {
      this.hooks.log(`could not start container ${c.container}: ${(err as Error).message}`);
      return;
    }
    this.restarts.set(c.id, (this.restarts.get(c.id) ?? 0) + 1);
    this.hooks.changed();
    if (await this.gate(c.id)) this.hooks.log(`container ${c.container} of ${c.id} is healthy again and routed`);
  }
}
