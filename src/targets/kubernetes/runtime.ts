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
import type { InstanceHandle, InstanceRequest, LogLine, ObservedInstance, ReleaseRef, Route, TargetContext, TargetRuntime, TrafficStats } from '../../engine/target.js';
import { applyRelease, deployedRevision, rollbackTo, type ApplyContext } from './apply.js';
import { queryPrometheus, readinessVerdict, type Verdict } from './canary-judge.js';
import { connect, deploymentStatus, listPods, podLogs, restartDeployment, scaleDeployment, serverVersion } from './cluster.js';
import { twoTracks } from './chart-input.js';
import type { KubernetesConfig } from './config.js';
import { openKubeconfig } from './kubeconfig.js';
import { names } from './object-names.js';
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
}

export class KubernetesRuntime implements TargetRuntime {
  private session?: Promise<ApplyContext>;
  /** Releases applied by this command (their later instances are the same workload). */
  private readonly applied = new Set<string>();
  private readonly handles = new Map<string, InstanceHandle>();
  private lastJudge?: { release: string; at: number; verdict: Verdict };

  constructor(private readonly ctx: TargetContext<KubernetesConfig>) {}

  private get saved(): Saved {
    return (this.ctx.settings.kubernetes ?? {}) as Saved;
  }

  private save(next: Saved): void {
    this.ctx.saveSettings({ ...this.ctx.settings, kubernetes: { ...this.saved, ...next } });
  }

  private connect(): Promise<ApplyContext> {
    this.session ??= (async () => {
      const [helm, kubectl] = await Promise.all([requireTool('helm'), requireTool('kubectl')]);
      const kubeconfig = openKubeconfig(this.ctx.config, this.ctx.appDir);
      const cluster = connect(kubectl, kubeconfig, this.ctx.config.namespace);
      // An unreachable cluster is named before anything is applied.
      await serverVersion(cluster).catch((err: unknown) => {
        kubeconfig.dispose();
        throw err;
      });
      return { helm, cluster, kubeconfig, stateDir: this.ctx.stateDir, targetName: this.ctx.targetName };
    })();
    return this.session;
  }

  private input(release: string) {
    const i = readReleaseInput(this.ctx.stateDir, this.ctx.targetName, release);
    const stable = this.saved.stable;
    return stable && stable !== release ? { ...i, stableImage: readReleaseInput(this.ctx.stateDir, this.ctx.targetName, stable).image, stableRelease: stable } : { ...i, stableImage: i.image, stableRelease: release };
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

  async startInstance(req: InstanceRequest): Promise<InstanceHandle> {
    const release = req.release.id;
    if (!this.applied.has(release)) {
      const input = this.input(release);
      const serving = this.saved.stable === release && (this.saved.routes ?? []).some((r) => r.release === release);
      // Nothing serving, or one workload: the Deployment's own rollout is the strategy.
      const phase: Phase = !this.saved.stable || !twoTracks(input) ? { at: 'promoted' } : { at: 'start' };
      await this.apply(release, phase, req.secretEnv);
      // The serving release started again (`gantry restart`): a rollout restart replaces its pods.
      if (serving) await restartDeployment((await this.connect()).cluster, names(input).workload);
      this.applied.add(release);
    }
    const h = { id: req.id, release, endpoint: this.endpoint() };
    this.handles.set(h.id, h);
    return h;
  }

  /** The release's pods are all Ready (the track that runs its image). */
  private async ready(release: string): Promise<{ ok: boolean; detail: string }> {
    const a = await this.connect();
    const input = this.input(release);
    const track = twoTracks(input) && this.saved.stable !== release ? names(input).canary : names(input).workload;
    try {
      const d = await deploymentStatus(a.cluster, track);
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
    const a = await this.connect();
    const track = twoTracks(input) ? 'canary' : 'stable';
    return readinessVerdict(await listPods(a.cluster, `${this.selector()},gantry.dev/track=${track}`));
  }

  async setRoutes(routes: Route[]): Promise<void> {
    const next = phaseForRoutes(routes, this.saved.stable, (r) => this.input(r).strategy.type);
    if (next && routeChangeApplies(twoTracks(this.input(next.release)), next, this.saved.stable)) await this.apply(next.release, next.phase, {});
    this.save({ routes });
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
      await applyRelease(a, input, phase, secretEnv);
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

  async runTask(): Promise<{ exitCode: number; output: string }> {
    throw new GantryError('USAGE', 'hooks do not run on the kubernetes target yet', 'run migrations as an init container or a Job of your own, and remove hooks for this target (an environment overlay)');
  }

  async instances(): Promise<ObservedInstance[]> {
    const routes = this.saved.routes ?? [];
    if (routes.length === 0) return [];
    let restarts = 0;
    let state: ObservedInstance['state'] = 'running';
    try {
      const a = await this.connect();
      const pods = await listPods(a.cluster, this.selector());
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

  /** The pods' logs (each line names its pod as the instance); `-f` follows every pod. */
  async *logs(opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine> {
    const a = await this.connect();
    for await (const l of podLogs(a.cluster, this.selector(), opts)) yield { instance: l.pod, stream: 'out', text: l.text };
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

  /** `gantry stop`: every workload scaled to 0; the chart's values keep the formation for the next start. */
  async shutdown(): Promise<void> {
    const stable = this.saved.stable;
    if (stable) {
      const a = await this.connect();
      const input = this.input(stable);
      for (const name of twoTracks(input) ? [names(input).workload, names(input).canary] : [names(input).workload]) await scaleDeployment(a.cluster, name, 0).catch(() => undefined);
    }
    this.applied.clear();
    this.save({ routes: [] });
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (s) await s.then((a) => a.kubeconfig.dispose()).catch(() => undefined);
  }
}
