/**
 * What every target behind Gantry's proxy (process, docker, later ssh) shares
 * of its TargetRuntime: traffic through the node agent's proxy, and health
 * probed by that agent, where the instance is. Subclasses add the instance
 * half (start, stop, observe) and say where a health command runs.
 */
import type { AgentHealthVerdict, AgentProbeRequest, AgentProbeWhere, AgentProxyTimeouts } from '../../agent/protocol.js';
import { sleep } from '../../engine/abort.js';
import type { HealthSpec } from '../../engine/health.js';
import type { InstanceHandle, LogLine, MaintenanceState, ObservedInstance } from '../../engine/target.js';
import { ACCESS_LOG_FILE } from '../../agent/protocol.js';
import { GantryError } from '../../core/errors.js';
import { join } from 'node:path';
import { readAccessLog } from './access-log.js';
import type { AgentRouter, RouterRoute } from './agent-router.js';

/** How often, while the agent waits for health, to ask whether the instance still runs (an exit fails the wait at once). */
const LIVENESS_CHECK_MS = 250;

/** How an instance that should be starting is not: undefined while it runs (or starts) without having restarted. */
function notRunning(observed: ObservedInstance | undefined): string | undefined {
  if (observed && observed.restarts === 0 && observed.state !== 'backoff' && observed.state !== 'stopped') return undefined;
  const exit = observed?.lastExit;
  return exit ? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'is not running';
}

export abstract class ProxiedRuntime {
  protected constructor(protected readonly router: AgentRouter) {}

  abstract instances(): Promise<ObservedInstance[]>;
  /** Where the agent runs the manifest's health command for this instance (a shell beside it, or an exec in its container). */
  protected abstract probeWhere(instance: InstanceHandle): AgentProbeWhere;

  /** The local agent's access log (process, docker); a remote agent's is not read from here. */
  async *accessLog(opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine> {
    if (!this.router.localDir) throw new GantryError('USAGE', 'this target keeps its access log on its hosts', 'read it there: <path>/<app>/agent/access.log');
    yield* readAccessLog(join(this.router.localDir, ACCESS_LOG_FILE), opts);
  }

  ensureRouter(opts?: AgentProxyTimeouts): Promise<{ url: string }> {
    return this.router.ensureRouter(opts);
  }
  accessUrl(): Promise<string | undefined> {
    return this.router.accessUrl();
  }
  setRoutes(routes: RouterRoute[]): Promise<void> {
    return this.router.setRoutes(routes);
  }
  routes(): Promise<RouterRoute[]> {
    return this.router.routes();
  }
  drain(instanceIds: string[], timeoutMs: number): Promise<void> {
    return this.router.drain(instanceIds, timeoutMs);
  }
  trafficStats() {
    return this.router.trafficStats();
  }
  setMaintenance(m: MaintenanceState | undefined): Promise<void> {
    return this.router.setMaintenance(m);
  }
  maintenance(): Promise<MaintenanceState | undefined> {
    return this.router.maintenance();
  }
  retireFormerAccess(): Promise<void> {
    return this.router.retireFormerAccess();
  }
  resetTrafficStats(): Promise<void> {
    return this.router.resetTrafficStats();
  }
  async close(): Promise<void> {
    this.router.forget();
  }

  private probeRequest(instance: InstanceHandle, spec: HealthSpec): AgentProbeRequest {
    return { instance: instance.id, endpoint: instance.endpoint, health: spec, where: this.probeWhere(instance) };
  }

  /** One probe of one instance, by the agent. Never throws: a probe that cannot run is a failed probe. */
  async probe(instance: InstanceHandle, spec: HealthSpec): Promise<{ ok: boolean; detail: string }> {
    try {
      const agent = await this.router.running();
      if (!agent) return { ok: false, detail: 'no Gantry agent runs to probe it' };
      return await agent.probe(this.probeRequest(instance, spec));
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  /**
   * The agent probes until the instance is healthy or it gives up (start period
   * plus `retries` intervals); meanwhile this side watches that the instance
   * still runs and fails at once when it exits, restarts or backs off. Aborting
   * `signal` hangs up on the agent, which ends its loop.
   */
  async waitHealthy(instance: InstanceHandle, spec: HealthSpec, signal?: AbortSignal): Promise<{ ok: boolean; detail: string; ms: number }> {
    const started = Date.now();
    const ms = (): number => Date.now() - started;
    const agent = await this.router.required();
    const hangUp = new AbortController();
    const onAbort = (): void => hangUp.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) hangUp.abort();
    let settled: { verdict: AgentHealthVerdict } | { error: unknown } | undefined;
    const asked = agent.waitHealthy(this.probeRequest(instance, spec), hangUp.signal).then(
      (verdict) => void (settled = { verdict }),
      (error: unknown) => void (settled = { error }),
    );
    const exited = async (how: string, last: string) => ({ ok: false, detail: `the instance ${how} before it became healthy (last probe: ${last})`, ms: ms() });
    try {
      for (;;) {
        await Promise.race([asked, sleep(LIVENESS_CHECK_MS, hangUp.signal)]);
        if (signal?.aborted) return { ok: false, detail: `not healthy after ${Math.round(ms() / 1000)}s: the wait was aborted`, ms: ms() };
        if (settled) break;
        const how = notRunning((await this.instances()).find((i) => i.id === instance.id));
        if (how) {
          hangUp.abort();
          return exited(how, (await this.probe(instance, spec)).detail);
        }
      }
      const s = settled as { verdict: AgentHealthVerdict } | { error: unknown };
      if ('error' in s) throw s.error;
      // An exit explains a failed wait better than the time it took; and a passed probe does not pass an instance
      // that exited or restarted before the verdict came back (something else answered on its port).
      const how = notRunning((await this.instances()).find((i) => i.id === instance.id));
      if (s.verdict.ok && !how) return { ok: true, detail: s.verdict.detail, ms: ms() };
      return how ? exited(how, s.verdict.last) : { ok: false, detail: s.verdict.detail, ms: ms() };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      hangUp.abort();
    }
  }
}
