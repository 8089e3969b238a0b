/**
 * The runtime of a many-node target seen as one: status, logs, the access
 * point, hooks and retention answer for all nodes together, and an operation
 * on one instance goes to the node that runs it. Rollouts do not come through
 * here: the engine runs each node's steps on that node's own runtime.
 */
import { GantryError } from '../../core/errors.js';
import type { HealthSpec } from '../../core/health-spec.js';
import type { ExecRequest, InstanceHandle, InstanceRequest, LogLine, MaintenanceState, ObservedInstance, ReleaseRef, Route, RouterOptions, TargetRuntime, TrafficStats } from '../../engine/target.js';

export interface FleetNode {
  name: string;
  runtime: TargetRuntime;
}

export class FleetRuntime implements TargetRuntime {
  /** Which node runs each instance, learned from `instances()`. */
  private readonly owners = new Map<string, FleetNode>();

  constructor(readonly nodes: FleetNode[]) {
    if (nodes.length === 0) throw new GantryError('MANIFEST_INVALID', 'a many-node target needs at least one node', 'list the nodes (hosts) in the target\'s config');
  }

  private async all<T>(fn: (n: FleetNode) => Promise<T>): Promise<T[]> {
    return Promise.all(this.nodes.map(fn));
  }

  /**
   * Reads over every node that answers: a node that cannot be reached (a host down) gives
   * `fallback` instead of failing the whole read, and is named in `unreachable`. Its own
   * plan steps still fail on it, with its own error.
   */
  private async reachable<T>(fn: (n: FleetNode) => Promise<T>, fallback: T): Promise<T[]> {
    const settled = await Promise.allSettled(this.nodes.map(fn));
    return settled.map((r, k) => {
      const name = this.nodes[k]!.name;
      if (r.status === 'fulfilled') {
        this.unreachable.delete(name);
        return r.value;
      }
      this.unreachable.set(name, (r.reason as Error)?.message ?? String(r.reason));
      return fallback;
    });
  }

  /** Nodes the last read could not reach, with why. */
  readonly unreachable = new Map<string, string>();

  unreachableNodes(): ReadonlyMap<string, string> {
    return this.unreachable;
  }

  private async ownerOf(instance: string): Promise<FleetNode> {
    if (!this.owners.has(instance)) await this.instances();
    const n = this.owners.get(instance);
    if (!n) throw new GantryError('NOT_RUNNING', `instance ${instance} runs on none of the nodes`, '`gantry status` lists the instances and their nodes');
    return n;
  }

  private async byOwner(ids: string[]): Promise<Map<FleetNode, string[]>> {
    const out = new Map<FleetNode, string[]>();
    for (const id of ids) {
      const n = await this.ownerOf(id).catch(() => undefined);
      if (n) out.set(n, [...(out.get(n) ?? []), id]);
    }
    return out;
  }

  async ensureRouter(opts?: RouterOptions): Promise<{ url: string }> {
    return (await this.all((n) => n.runtime.ensureRouter(opts)))[0]!;
  }

  /** The first node's access point (each node has its own; a load balancer in front is the user's). */
  async accessUrl(): Promise<string | undefined> {
    return this.nodes[0]!.runtime.accessUrl();
  }

  async setRoutes(routes: Route[]): Promise<void> {
    const owners = await this.byOwner(routes.map((r) => r.instance));
    await this.all((n) => n.runtime.setRoutes(routes.filter((r) => owners.get(n)?.includes(r.instance))));
  }

  async routes(): Promise<Route[]> {
    return (await this.reachable((n) => n.runtime.routes(), [] as Route[])).flat();
  }

  async drain(instanceIds: string[], timeoutMs: number): Promise<void> {
    await Promise.all([...(await this.byOwner(instanceIds))].map(([n, ids]) => n.runtime.drain(ids, timeoutMs)));
  }

  startInstance(req: InstanceRequest): Promise<InstanceHandle> {
    throw new GantryError('INTERNAL', `instance ${req.id}: on a many-node target an instance starts on a node (the plan's step names it)`);
  }

  async stopInstance(id: string, timeoutMs: number): Promise<void> {
    await (await this.ownerOf(id)).runtime.stopInstance(id, timeoutMs);
  }

  async stopInstanceLater(id: string, afterMs: number, timeoutMs: number): Promise<void> {
    await (await this.ownerOf(id)).runtime.stopInstanceLater(id, afterMs, timeoutMs);
  }

  /** One-off tasks (hooks such as migrations) run once, on the first node. */
  runTask(task: Parameters<TargetRuntime['runTask']>[0]): ReturnType<TargetRuntime['runTask']> {
    return this.nodes[0]!.runtime.runTask(task);
  }

  /** `gantry exec`: on the node that runs the instance named, else on the first node (the engine names a node when asked to). */
  async exec(req: ExecRequest): Promise<{ exitCode: number }> {
    const n = req.instance ? await this.ownerOf(req.instance) : this.nodes[0]!;
    if (!n.runtime.exec) throw new GantryError('USAGE', `node ${n.name} cannot run one-off commands`, 'hooks (hooks.pre_deploy) run commands on every target');
    return n.runtime.exec(req);
  }

  async instances(): Promise<ObservedInstance[]> {
    const lists = await this.reachable(async (n) => (await n.runtime.instances()).map((i) => ({ ...i, node: n.name })), [] as ObservedInstance[]);
    for (const [k, list] of lists.entries()) for (const i of list) this.owners.set(i.id, this.nodes[k]!);
    return lists.flat();
  }

  async *logs(opts: Parameters<TargetRuntime['logs']>[0]): AsyncIterable<LogLine> {
    // Node by node, each line tagged with its node; followed logs of several nodes are interleaved as they come.
    const tagged = async function* (n: FleetNode): AsyncIterable<LogLine> {
      for await (const l of n.runtime.logs(opts)) yield { ...l, node: n.name };
    };
    if (!opts.follow) {
      for (const n of this.nodes) yield* tagged(n);
      return;
    }
    const iterators = this.nodes.map((n) => tagged(n)[Symbol.asyncIterator]());
    const next = (i: number) => iterators[i]!.next().then((r) => ({ i, r }));
    const pending = new Map(iterators.map((_, i) => [i, next(i)]));
    while (pending.size) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) pending.delete(i);
      else {
        pending.set(i, next(i));
        yield r.value;
      }
    }
  }

  async probe(instance: InstanceHandle, spec: HealthSpec): Promise<{ ok: boolean; detail: string }> {
    return (await this.ownerOf(instance.id)).runtime.probe(instance, spec);
  }

  async waitHealthy(instance: InstanceHandle, spec: HealthSpec, signal?: AbortSignal): Promise<{ ok: boolean; detail: string; ms: number }> {
    return (await this.ownerOf(instance.id)).runtime.waitHealthy(instance, spec, signal);
  }

  /** Per release, summed over the nodes; latency percentiles are the worst node's. */
  async trafficStats(): Promise<TrafficStats | undefined> {
    const all = (await this.reachable((n) => n.runtime.trafficStats(), undefined)).filter((s): s is TrafficStats => Boolean(s));
    if (all.length === 0) return undefined;
    const byRelease = new Map<string, TrafficStats['releases'][number]>();
    for (const r of all.flatMap((s) => s.releases)) {
      const a = byRelease.get(r.release);
      if (!a) byRelease.set(r.release, { ...r });
      else {
        const requests = a.requests + r.requests;
        byRelease.set(r.release, { release: r.release, requests, errors5xx: a.errors5xx + r.errors5xx, connectErrors: a.connectErrors + r.connectErrors, inflight: a.inflight + r.inflight, p50Ms: Math.max(a.p50Ms, r.p50Ms), p90Ms: Math.max(a.p90Ms, r.p90Ms), p99Ms: Math.max(a.p99Ms, r.p99Ms), errorRate: requests ? (a.errors5xx + r.errors5xx + a.connectErrors + r.connectErrors) / requests : 0 });
      }
    }
    return { releases: [...byRelease.values()] };
  }

  async instanceCpuSeconds(): Promise<Record<string, number>> {
    return Object.assign({}, ...(await this.reachable((n) => n.runtime.instanceCpuSeconds(), {})));
  }

  async instanceMemoryBytes(): Promise<Record<string, number>> {
    return Object.assign({}, ...(await this.reachable(async (n) => (await n.runtime.instanceMemoryBytes?.()) ?? {}, {})));
  }

  /** Maintenance on every node's proxy at once (each node persists it in its agent's state). */
  async setMaintenance(m: MaintenanceState | undefined): Promise<void> {
    await this.all(async (n) => {
      if (!n.runtime.setMaintenance) throw new GantryError('USAGE', `node ${n.name} cannot serve a maintenance page`, 'its target has no proxy of Gantry in front of the app');
      await n.runtime.setMaintenance(m);
    });
  }

  /** The first node's that answers (they are set together). */
  async maintenance(): Promise<MaintenanceState | undefined> {
    const all = await this.reachable(async (n) => n.runtime.maintenance?.(), undefined);
    return all.find(Boolean);
  }

  async retireFormerAccess(): Promise<void> {
    await this.reachable(async (n) => n.runtime.retireFormerAccess?.(), undefined);
  }

  async resetTrafficStats(): Promise<void> {
    await this.reachable((n) => n.runtime.resetTrafficStats(), undefined);
  }

  /** Best effort per node: a node that went back, or cannot be reached, keeps what it serves. */
  async markCurrent(release: ReleaseRef): Promise<void> {
    await this.reachable((n) => n.runtime.markCurrent(release), undefined);
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await this.all((n) => n.runtime.shutdown(timeoutMs));
  }

  async close(): Promise<void> {
    await this.all((n) => n.runtime.close());
  }
}
