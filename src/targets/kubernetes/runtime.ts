/**
 * The kubernetes target's runtime. The cluster runs the pods, splits traffic
 * between releases and judges readiness; the engine's instances of a release
 * stand for that release's workload (one helm upgrade, whatever their count):
 * - startInstance: the first instance of a release applies it (helm upgrade --wait);
 * - waitHealthy/probe: the release's pods are Ready (the platform's verdict);
 * - setRoutes: the routes' weights become the canary's share, the active
 *   blue-green track, or the promotion (the new image on the stable track);
 * - shutdown: scale to 0, the formation kept in the chart's values.
 * Nothing here contacts the cluster until an operation needs it (plan does not).
 */
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { HealthSpec } from '../../engine/health.js';
import type { InstanceHandle, InstanceRequest, LogLine, ObservedInstance, PlatformEvent, PlatformWorkload, ReleaseRef, Route, TargetContext, TargetRuntime, TrafficStats } from '../../engine/target.js';
import { applyRelease, deployedRevision, rollbackTo, writeSecret, type ApplyContext } from './apply.js';
import { queryPrometheus, readinessVerdict, type Verdict } from './canary-judge.js';
import { connect, type Cluster } from './cluster.js';
import { twoTracks, usesRollout, type ChartInput } from './chart-input.js';
import type { KubernetesConfig } from './config.js';
import { openKubeconfig, type KubeconfigFile } from './kubeconfig.js';
import { names, TRACK_LABEL, type Track } from './object-names.js';
import { readReleaseInput } from './release-files.js';
import { phaseForRoutes, routeChangeApplies } from './route-phase.js';
import type { Phase } from './render.js';
import { requireTool } from './tools.js';

interface Saved {
  routes?: Route[];
  /** The release whose image is on the stable track. */
  stable?: string;
  /** The helm revision that held each release once promoted: going back to it is `helm rollback`. */
  revisions?: Record<string, number>;
  /** Pods set by `gantry scale` (held by later upgrades while the engine's count stays the same). */
  replicas?: number;
  /** `gantry stop`: each Deployment's replicas before it was scaled to 0 (what `gantry start` brings back). */
  stopped?: Record<string, number>;
}

export class KubernetesRuntime implements TargetRuntime {
  private api?: Promise<{ cluster: Cluster; kubeconfig: KubeconfigFile }>;
  private session?: Promise<ApplyContext>;
  /** Releases applied, started or resized by this command (their later instances are the same workload). */
  private readonly applied = new Set<string>();
  private readonly handles = new Map<string, InstanceHandle>();
  /** Releases this command brings back (a rollback): their upgrades run no hook Job. */
  private readonly goingBack = new Set<string>();
  private lastJudge?: { release: string; at: number; verdict: Verdict };

  constructor(private readonly ctx: TargetContext<KubernetesConfig>) {}

  private get saved(): Saved {
    return (this.ctx.settings.kubernetes ?? {}) as Saved;
  }

  private save(next: Saved): void {
    this.ctx.saveSettings({ ...this.ctx.settings, kubernetes: { ...this.saved, ...next } });
  }

  /** The Kubernetes API (client-node, loaded on first use): what status, logs, stop/start, restart and scale need; no tool. */
  private cluster(): Promise<Cluster> {
    this.api ??= (async () => {
      const kubeconfig = openKubeconfig(this.ctx.config, this.ctx.appDir);
      try {
        return { cluster: await connect(kubeconfig, this.ctx.config.namespace), kubeconfig };
      } catch (err) {
        kubeconfig.dispose();
        throw err;
      }
    })();
    return this.api.then((a) => a.cluster);
  }

  /** helm and the API, for an upgrade or a rollback: an unreachable cluster is named before anything is applied. */
  private connect(): Promise<ApplyContext> {
    this.session ??= (async () => {
      const helm = await requireTool('helm');
      const cluster = await this.cluster();
      await cluster.version();
      const { kubeconfig } = await this.api!;
      return { helm, cluster, kubeconfig, stateDir: this.ctx.stateDir, targetName: this.ctx.targetName };
    })();
    return this.session;
  }

  private input(release: string) {
    const i = readReleaseInput(this.ctx.stateDir, this.ctx.targetName, release);
    const stable = this.saved.stable;
    return stable && stable !== release ? { ...i, stableImage: readReleaseInput(this.ctx.stateDir, this.ctx.targetName, stable).image, stableRelease: stable } : { ...i, stableImage: i.image, stableRelease: release };
  }

  /** The release's input with the pods the formation holds (a `gantry scale` count, else the chart's). */
  private formed(input: ChartInput): ChartInput {
    return this.saved.replicas === undefined ? input : { ...input, replicas: this.saved.replicas };
  }

  /** The Deployments that run a release's tracks (none for Argo Rollouts, whose Rollout Gantry does not resize). */
  private workloads(input: ChartInput): Array<{ name: string; track: Track }> {
    if (usesRollout(input)) return [];
    const n = names(input);
    return twoTracks(input) ? [{ name: n.workload, track: 'stable' }, { name: n.canary, track: 'canary' }] : [{ name: n.workload, track: 'stable' }];
  }

  async ensureRouter(): Promise<{ url: string }> {
    return { url: (await this.accessUrl())! };
  }

  async accessUrl(): Promise<string | undefined> {
    const c = this.ctx.config;
    if (c.ingress) return `${c.ingress.tls_secret ? 'https' : 'http'}://${c.ingress.host.replace(/^\*\./, 'www.')}${c.ingress.path === '/' ? '' : c.ingress.path}`;
    const name = c.release_name ?? this.ctx.app;
    return `http://${name}.${c.namespace}.svc.cluster.local${c.service.port === 80 ? '' : `:${c.service.port}`}`;
  }

  private endpoint(): { host: string; port: number } {
    const c = this.ctx.config;
    return { host: `${c.release_name ?? this.ctx.app}.${c.namespace}.svc.cluster.local`, port: c.service.port };
  }

  /**
   * The first instance of a release (per command) is its whole workload:
   * - the serving release started again (`gantry start`) or resized (`gantry scale`): its Deployments scaled
   *   to the kept formation or the plan's count, the Secret rewritten from the current values;
   * - the serving release restarted: a rollout-restart annotation replaces its pods (no helm run);
   * - the serving release gone back to (a compensation): left running as it is;
   * - anything else (a new release, a workload that is gone): `helm upgrade --install` at the rollout's phase.
   */
  async startInstance(req: InstanceRequest): Promise<InstanceHandle> {
    const release = req.release.id;
    if (!this.applied.has(release)) {
      const input = this.input(release);
      const kind = req.plan?.kind;
      if (kind === 'rollback') this.goingBack.add(release);
      // A deploy whose count is not the scaled one: the manifest's count took over (formation.ts).
      if ((kind === 'deploy' || kind === 'rollback') && this.saved.replicas !== undefined && req.plan!.count !== this.saved.replicas) this.save({ replicas: undefined });
      const isStable = this.saved.stable === release;
      let done = false;
      if (isStable && (kind === 'start' || kind === 'scale')) done = await this.resize(input, kind === 'scale' ? req.plan!.count : undefined, req.secretEnv);
      else if (isStable && kind === 'restart') done = await this.restartWorkloads(input, req.secretEnv);
      // Going back to the serving release (a compensation): it runs as it is, or is started again if stopped.
      else if (isStable && kind === undefined) done = await this.keepRunning(input, req.secretEnv);
      if (!done) {
        // Nothing serving, or one workload: the Deployment's own rollout is the strategy.
        const phase: Phase = !this.saved.stable || !twoTracks(input) ? { at: 'promoted' } : { at: 'start' };
        await this.apply(release, phase, req.secretEnv);
      }
      this.applied.add(release);
    }
    const h = { id: req.id, release, endpoint: this.endpoint() };
    this.handles.set(h.id, h);
    return h;
  }

  /**
   * The serving release's Deployments to `count` pods (`gantry scale`), or back to what they had before
   * `gantry stop` (`gantry start`). With an autoscaler the count is its floor (minReplicas), at most its
   * ceiling. False when the workload is not on the cluster (the caller applies the chart instead).
   */
  private async resize(input: ChartInput, count: number | undefined, secretEnv: Record<string, string>): Promise<boolean> {
    const cluster = await this.cluster();
    const tracks = this.workloads(input);
    if (tracks.length === 0) throw new GantryError('USAGE', 'start and scale resize Deployments; this app runs as an Argo Rollout', 'resize it with `kubectl argo rollouts` (or deploy with engine: deployment)');
    const main = tracks[0]!;
    if (!(await cluster.deployment(main.name))) return false;
    await writeSecret({ cluster }, input, secretEnv);
    if (count === undefined) {
      // start: each track as it was before the stop; the main one at least the formation.
      const stopped = this.saved.stopped ?? {};
      for (const t of tracks) {
        const n = stopped[t.name] ?? (t === main ? this.formed(input).replicas : 0);
        if (n > 0) await cluster.scaleDeployment(t.name, n);
      }
      this.save({ stopped: undefined });
      this.ctx.emit('info', `${tracks.map((t) => `${t.name}: ${stopped[t.name] ?? (t === main ? this.formed(input).replicas : 0)}`).join(', ')} pod(s) again`);
      return true;
    }
    const hpa = input.autoscale ? await cluster.autoscaler(main.name) : undefined;
    if (hpa && count > 0) {
      if (count > hpa.max) throw new GantryError('USAGE', `cannot scale to ${count}: the autoscaler of ${main.name} allows at most ${hpa.max} pods`, 'raise autoscale.max in the manifest and deploy, or scale to at most that');
      await cluster.setAutoscalerMin(main.name, count);
      this.ctx.emit('info', `autoscaler ${main.name}: at least ${count} pod(s) (was ${hpa.min}); it may add more up to ${hpa.max}`);
    }
    const d = await cluster.deployment(main.name);
    // Under an autoscaler only a rise is forced: the autoscaler may already run more than the floor.
    if (!hpa || count === 0 || (d?.replicas ?? 0) < count) await cluster.scaleDeployment(main.name, count);
    this.save({ replicas: count });
    return true;
  }

  private async keepRunning(input: ChartInput, secretEnv: Record<string, string>): Promise<boolean> {
    const main = this.workloads(input)[0];
    const d = main && (await (await this.cluster()).deployment(main.name));
    if (!d) return false;
    return d.replicas > 0 ? true : this.resize(input, undefined, secretEnv);
  }

  /** `gantry restart` of the serving release: its Secret rewritten, then a rollout restart of each running track. */
  private async restartWorkloads(input: ChartInput, secretEnv: Record<string, string>): Promise<boolean> {
    const cluster = await this.cluster();
    const tracks = this.workloads(input);
    if (tracks.length === 0 || !(await cluster.deployment(tracks[0]!.name))) return false;
    await writeSecret({ cluster }, input, secretEnv);
    const at = new Date();
    for (const t of tracks) {
      const d = await cluster.deployment(t.name);
      if (d && d.replicas > 0) {
        await cluster.restartDeployment(t.name, at);
        this.ctx.emit('info', `rollout restart of ${t.name} (${d.replicas} pod(s) replaced)`);
      }
    }
    return true;
  }

  /** The release's pods are all Ready (the track that runs its image). */
  private async ready(release: string): Promise<{ ok: boolean; detail: string }> {
    const input = this.input(release);
    const track = twoTracks(input) && this.saved.stable !== release ? names(input).canary : names(input).workload;
    try {
      const d = await (await this.cluster()).deployment(track);
      if (!d) return { ok: false, detail: `${track}: no such Deployment` };
      return { ok: d.ready >= d.replicas && d.updated >= d.replicas, detail: `${track}: ${d.ready}/${d.replicas} pods ready` };
    } catch (err) {
      return { ok: false, detail: (err as Error).message };
    }
  }

  async probe(instance: InstanceHandle): Promise<{ ok: boolean; detail: string }> {
    return this.ready(instance.release);
  }

  async waitHealthy(instance: InstanceHandle, spec: HealthSpec, signal?: AbortSignal): Promise<{ ok: boolean; detail: string; ms: number }> {
    const started = Date.now();
    const budget = spec.startPeriodMs + spec.retries * spec.intervalMs + spec.timeoutMs;
    let last = { ok: false, detail: 'not checked' };
    while (!signal?.aborted && Date.now() - started <= budget) {
      last = await this.ready(instance.release);
      if (last.ok) break;
      await new Promise((r) => setTimeout(r, Math.min(spec.intervalMs, 2_000)));
    }
    return { ...last, ms: Date.now() - started };
  }

  /** A canary step judged by the cluster: the Prometheus query when configured, else the canary pods' readiness. */
  async judgeCanary(step: { release: string; percent: number }): Promise<Verdict> {
    // The engine asks every few hundred ms; the cluster is asked at most every canaryJudgeEveryMs.
    const last = this.lastJudge;
    if (last && last.release === step.release && Date.now() - last.at < DEFAULTS.kubernetes.canaryJudgeEveryMs) return last.verdict;
    const verdict = await this.judgeNow(step);
    this.lastJudge = { release: step.release, at: Date.now(), verdict };
    return verdict;
  }

  private async judgeNow(step: { release: string }): Promise<Verdict> {
    const input = this.input(step.release);
    const p = input.config.analysis?.prometheus;
    if (p) return queryPrometheus(p.address, p.query.replaceAll('{{release}}', step.release), p.max, DEFAULTS.kubernetes.apiTimeoutMs);
    const track = twoTracks(input) ? 'canary' : 'stable';
    return readinessVerdict(await (await this.cluster()).listPods(`${this.selector()},${TRACK_LABEL}=${track}`));
  }

  async setRoutes(routes: Route[]): Promise<void> {
    const next = phaseForRoutes(routes, this.saved.stable, (r) => this.input(r).strategy.type);
    if (next && routeChangeApplies(twoTracks(this.input(next.release)), next, this.saved.stable)) await this.apply(next.release, next.phase, {});
    else if (this.scaledDown(routes)) await this.resize(this.input(this.saved.stable!), routes.length, {});
    this.save({ routes });
  }

  /** Fewer routes to the serving release, and nothing started by this command: a `gantry scale` down. */
  private scaledDown(routes: Route[]): boolean {
    const stable = this.saved.stable;
    const before = this.saved.routes ?? [];
    return stable !== undefined && this.applied.size === 0 && before.length > routes.length && [...before, ...routes].every((r) => r.release === stable);
  }

  /**
   * One release at one phase on the cluster. The promotion of a release that was promoted before
   * (a rollback, a switch-back) is `helm rollback` to the revision that held it; anything else an upgrade.
   */
  private async apply(release: string, phase: Phase, secretEnv: Record<string, string>): Promise<void> {
    const a = await this.connect();
    const input = this.input(release);
    const revision = this.saved.revisions?.[release];
    if (phase.at === 'promoted' && revision !== undefined && release !== this.saved.stable) {
      this.ctx.emit('info', `helm rollback ${input.name} ${revision} (release ${release})`);
      await rollbackTo(a, input, revision, secretEnv);
    } else {
      this.ctx.emit('info', `helm upgrade --install ${input.name} (release ${release}, ${phase.at})`);
      // Hooks run with a release's own deploy: not when a release promoted before, or rolled back to, is applied again.
      const hooks = this.saved.revisions?.[release] === undefined && !this.goingBack.has(release);
      await applyRelease(a, this.formed(input), phase, secretEnv, { hooks });
    }
    if (phase.at !== 'promoted') return;
    const rev = await deployedRevision(a, input).catch(() => undefined);
    this.save({ stable: release, revisions: { ...this.saved.revisions, ...(rev !== undefined ? { [release]: rev } : {}) } });
  }

  async routes(): Promise<Route[]> {
    return this.saved.routes ?? [];
  }

  async drain(): Promise<void> {
    // The cluster drains: endpoints are removed first, then preStop waits out in-flight requests.
  }

  async stopInstance(id: string): Promise<void> {
    this.handles.delete(id);
  }

  async stopInstanceLater(): Promise<void> {
    // The previous image leaves the cluster with the promotion; helm rollback brings it back.
  }

  /**
   * Hooks run on the cluster as Helm hook Jobs inside the release's upgrade (hook-jobs.ts), not as a
   * separate step: a failing pre_deploy fails that upgrade (nothing switches), a failing post_deploy is
   * said in its Job's log. The engine's hook step only records that.
   */
  async runTask(task: { release: ReleaseRef }): Promise<{ exitCode: number; output: string }> {
    return { exitCode: 0, output: `runs on the cluster as a Helm hook Job of release ${task.release.id}'s upgrade: pre_deploy before it changes anything (a failure fails the upgrade), post_deploy after it` };
  }

  async instances(): Promise<ObservedInstance[]> {
    const routes = this.saved.routes ?? [];
    if (routes.length === 0) return [];
    let restarts = 0;
    let state: ObservedInstance['state'] = 'running';
    try {
      const pods = await (await this.cluster()).listPods(this.selector());
      restarts = pods.reduce((sum, p) => sum + p.restarts, 0);
      if (pods.length === 0) state = 'stopped';
      else if (!pods.every((p) => p.ready)) state = 'starting';
    } catch {
      state = 'backoff';
    }
    return routes.map((r) => ({ id: r.instance, release: r.release, endpoint: this.endpoint(), state, restarts }));
  }

  private selector(): string {
    return `app.kubernetes.io/instance=${this.ctx.config.release_name ?? this.ctx.app}`;
  }

  /** The pods' logs through the Log API (each line names its pod as the instance); `-f` follows every pod. */
  async *logs(opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine> {
    const cluster = await this.cluster();
    for await (const l of cluster.podLogs(this.selector(), opts)) yield { instance: l.pod, stream: 'out', text: l.text };
  }

  /** Each Deployment of the serving release (per track) with its pods, and the recent events of the app's objects. */
  async platformStatus(): Promise<{ workloads: PlatformWorkload[]; events: PlatformEvent[] }> {
    const stable = this.saved.stable;
    if (!stable) return { workloads: [], events: [] };
    const cluster = await this.cluster();
    const input = this.input(stable);
    const pods = await cluster.listPods(this.selector());
    const workloads: PlatformWorkload[] = [];
    for (const t of this.workloads(input)) {
      const d = await cluster.deployment(t.name);
      const own = pods.filter((p) => (p.labels[TRACK_LABEL] ?? 'stable') === t.track && p.name.startsWith(`${t.name}-`));
      if (!d && own.length === 0) continue;
      if (t.track === 'canary' && (d?.replicas ?? 0) === 0 && own.length === 0) continue;
      const release = t.track === 'stable' ? stable : (this.saved.routes ?? []).find((r) => r.release !== stable)?.release;
      workloads.push({ kind: 'Deployment', name: t.name, track: t.track, release, desired: d?.replicas ?? 0, ready: d?.ready ?? 0, pods: own.map((p) => ({ name: p.name, ready: p.ready, restarts: p.restarts, phase: p.phase, reason: p.reason })) });
    }
    const events = (await cluster.events(input.name)).slice(-DEFAULTS.kubernetes.statusEvents);
    return { workloads, events: events.map(({ objectName: _, ...e }) => e) };
  }

  async trafficStats(): Promise<TrafficStats | undefined> {
    return undefined;
  }

  async instanceCpuSeconds(): Promise<Record<string, number>> {
    return {};
  }

  async resetTrafficStats(): Promise<void> {}

  async markCurrent(release: ReleaseRef): Promise<void> {
    this.save({ stable: release.id });
  }

  /** `gantry stop`: every Deployment scaled to 0, its replicas kept for `gantry start`. */
  async shutdown(): Promise<void> {
    const stable = this.saved.stable;
    if (stable) {
      const cluster = await this.cluster();
      const stopped: Record<string, number> = { ...this.saved.stopped };
      for (const t of this.workloads(this.input(stable))) {
        const d = await cluster.deployment(t.name);
        if (!d) continue;
        if (d.replicas > 0) stopped[t.name] = d.replicas;
        await cluster.scaleDeployment(t.name, 0);
      }
      this.save({ stopped });
    }
    this.applied.clear();
    this.save({ routes: [] });
  }

  async close(): Promise<void> {
    const api = this.api;
    this.api = undefined;
    this.session = undefined;
    if (api) await api.then((a) => a.kubeconfig.dispose()).catch(() => undefined);
  }
}
