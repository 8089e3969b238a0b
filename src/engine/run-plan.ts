/**
 * The one path every changing command takes: record a deployment, plan its
 * steps from what runs now, store them, execute them; when a step fails (or an
 * abort is asked for), plan the compensation from what runs then, store it
 * after the steps, and execute it.
 */
import type { DeploymentKind, DeploymentRecord, ReleaseRecord } from '../store/index.js';
import { watchAbort, type AbortWatch } from './abort.js';
import type { AnalysisVerdict } from './analysis.js';
import { compensationSteps, placeCompensation, type Fallback } from './compensation.js';
import { runStep } from './executors.js';
import { ensureAccess, openNodes } from './nodes.js';
import type { EngineContext } from './context.js';
import { executeSteps, type ExecutionContext } from './executor.js';
import { HealthGateError } from './executors.js';
import { CanaryFailedError } from './gates.js';
import { resolveHealth } from './health.js';
import type { Step } from './plan.js';
import { prune, releaseRef } from './releases.js';
import { releaseManifestOf } from './stored.js';
import type { TargetRuntime } from './target.js';
import type { DeployResult, DeployStatus, EngineEventLevel, NodeReport, Opened, ReconcileReport, RunnableRelease } from './types.js';
import { headline, newDeploymentId, redact, toGantryError } from './util.js';

type Emit = (level: EngineEventLevel, message: string, step?: string, data?: unknown) => void;

export interface PlannedRun {
  kind: DeploymentKind;
  /** The release the plan moves to (built by its first step when `build` is given). */
  releaseId: string;
  /** The release serving before, recorded on the deployment. */
  previous?: string;
  count: number;
  reconciled: ReconcileReport[];
  signal?: AbortSignal;
  build?: () => Promise<ReleaseRecord>;
  /** The stored release the plan moves to, when it exists already. */
  existing?: ReleaseRecord;
  /** The steps, planned once the access point is up, from what runs now. */
  plan: () => Promise<Step[]>;
  /** Where a failure goes back to. */
  fallback: Fallback;
  /** A rollout moves traffic between releases: when its fallback serves again it is recorded `rolled_back`, not `failed`. */
  rollout: boolean;
  /** The first line of the progress output. */
  headline: string;
  /** The reason recorded on success. */
  reason?: string;
  /** False for a plan that only takes things down (`stop`): the access point is not brought up first. */
  needsRouter?: boolean;
}

export function emitterFor(engine: EngineContext, o: Opened, deploymentId: string): Emit {
  const where = { app: o.app, target: o.name, deploymentId };
  return (level, message, step, data) => engine.emit(where, level, message, step, data);
}

/** Everything a step's executor needs for one deployment; built the same way live and on resume. */
export async function executionContext(engine: EngineContext, o: Opened, d: Pick<DeploymentRecord, 'id' | 'release' | 'previousRelease'>, opts: { release: string; count: number; kind?: DeploymentKind; releases: ReleaseRecord[]; build?: () => Promise<ReleaseRecord>; abort?: AbortWatch; live: boolean; fallback?: Fallback }): Promise<ExecutionContext> {
  const emit = emitterFor(engine, o, d.id);
  const releases = new Map<string, RunnableRelease>();
  for (const rel of opts.releases) releases.set(rel.id, await releaseRef(engine, rel));
  const target = opts.releases.find((r) => r.id === opts.release);
  const nodes = await openNodes(engine, o);
  const fallback = opts.fallback;
  return {
    store: engine.store,
    deploymentId: d.id,
    o,
    runtime: o.runtime,
    nodes: nodes && new Map(nodes.map((n) => [n.name, n.runtime])),
    // A node that failed within max_failed goes back on its own, to the plan's fallback.
    onNodeFailed: fallback ? (node, runtime) => nodeGoesBack(engine, o, d, node, runtime, fallback) : undefined,
    release: opts.release,
    count: opts.count,
    kind: opts.kind,
    previous: d.previousRelease,
    releases,
    handles: new Map(),
    // A release's own health check gates its instances; before it is built, the manifest's.
    health: resolveHealth(target ? releaseManifestOf(target).health : o.manifest.health),
    drainTimeoutMs: o.manifest.strategy.drain_timeout,
    stopTimeoutMs: o.manifest.strategy.stop_timeout,
    emit,
    onWait: (what, totalMs) => {
      engine.store.updateDeployment(d.id, { waiting: what });
      if (what && opts.live) emit('info', `waiting for ${what}`, 'wait', { live: { label: `waiting for ${what}`, totalMs } });
    },
    build: opts.build,
    runnable: (rel) => releaseRef(engine, rel),
    outcome: { analyses: [] },
    abort: opts.abort,
  };
}

/** One failed node back to the fallback, through the same executors (its steps are not stored: the node's report and events say what ran). */
async function nodeGoesBack(engine: EngineContext, o: Opened, d: Pick<DeploymentRecord, 'id' | 'release' | 'previousRelease'>, node: string, runtime: TargetRuntime, fallback: Fallback): Promise<boolean> {
  const c = await placeCompensation(engine, o, runtime, fallback);
  const rel = c.release ? engine.store.getRelease(o.app, o.name, c.release) : undefined;
  const ctx = await executionContext(engine, o, d, { release: c.release ?? '', count: c.count, releases: rel ? [rel] : [], live: false });
  ctx.emit('warn', `node ${node} goes back${c.release ? ` to ${c.release}` : ''}`, 'rollback', { node });
  for (const i of await runtime.instances()) ctx.handles.set(i.id, i);
  for (const step of c.steps) await runStep({ ...ctx, runtime, nodes: undefined }, step);
  return Boolean(rel);
}

/**
 * Plan the compensation from what runs now, append it to the stored steps and
 * run it. True when the fallback release serves again.
 */
export async function runCompensation(engine: EngineContext, o: Opened, d: Pick<DeploymentRecord, 'id' | 'release' | 'previousRelease'>, fallback: Fallback, reason: string): Promise<boolean> {
  const emit = emitterFor(engine, o, d.id);
  try {
    const steps = await compensationSteps(engine, o, fallback, reason);
    const from = engine.store.listSteps(d.id).length;
    engine.store.appendSteps(d.id, steps.map((s) => ({ kind: s.kind, params: s })));
    const marker = steps[0] as Extract<Step, { kind: 'compensate' }>;
    const rel = marker.release ? engine.store.getRelease(o.app, o.name, marker.release) : undefined;
    const ctx = await executionContext(engine, o, d, { release: marker.release ?? d.release ?? '', count: marker.count, releases: rel ? [rel] : [], live: false });
    if (rel) await ensureAccess(engine, o);
    await executeSteps(ctx, steps, 0, from);
    return Boolean(rel);
  } catch (err) {
    emit('error', `could not go back: ${(err as Error).message}`, 'rollback');
    return false;
  }
}

/** Many-node targets: the outcome of every node the plan covers (nodes no batch reached: not_started; after the fleet went back: rolled_back). */
function nodeReport(ctx: ExecutionContext | undefined, steps: Step[], wentBack?: boolean): NodeReport[] | undefined {
  if (!ctx?.nodes) return undefined;
  const seen = new Map((ctx.outcome.nodes ?? []).map((r) => [r.node, r]));
  const planned = [...new Set(steps.flatMap((s) => (s.kind === 'batch' ? s.nodes : [])))];
  return planned.map((node) => {
    const r = seen.get(node) ?? { node, batch: -1, status: 'not_started' as const };
    return wentBack !== undefined && r.status === 'succeeded' ? { ...r, status: wentBack ? ('rolled_back' as const) : ('failed' as const) } : r;
  });
}

/** A changed access port took effect with this plan: the former address, kept serving meanwhile, closes now. */
export async function retireFormerAccess(o: Opened, emit: (level: EngineEventLevel, message: string, step?: string) => void): Promise<void> {
  await o.runtime.retireFormerAccess?.().catch((err: unknown) => emit('warn', `could not stop serving at the former access address: ${(err as Error).message}`, 'access'));
}

/** Record, plan, store and execute; compensate on failure. */
export async function runPlanned(engine: EngineContext, o: Opened, spec: PlannedRun): Promise<DeployResult> {
  const started = Date.now();
  const d = engine.store.insertDeployment({
    id: newDeploymentId(),
    app: o.app,
    target: o.name,
    targetType: o.target.type,
    kind: spec.kind,
    actor: engine.opts.actor,
    release: spec.releaseId || undefined,
    previousRelease: spec.previous,
    platformConfig: redact(o.ctx.config),
  });
  const emit = emitterFor(engine, o, d.id);
  let url: string | undefined;
  const finish = (status: DeployStatus, extra: Partial<DeployResult> = {}, shortReason?: string): DeployResult => {
    const result: DeployResult = { id: d.id, app: o.app, target: o.name, kind: spec.kind, release: spec.releaseId || undefined, previous_release: spec.previous, status, url, duration_ms: Date.now() - started, reconciled: spec.reconciled.length ? spec.reconciled : undefined, ...extra };
    engine.store.updateDeployment(d.id, { status, reason: result.reason, accessUrl: result.url, waiting: undefined });
    engine.store.audit(engine.opts.actor, spec.kind, o.app, o.name, { deployment: d.id, release: spec.releaseId, status });
    emit(status === 'succeeded' ? 'info' : 'error', `${spec.kind} ${status}${result.reason ? `: ${shortReason ?? headline(result.reason)}` : ''}`, 'result', { status });
    return result;
  };
  const abort = watchAbort(engine.store, d.id, spec.signal);
  let ctx: ExecutionContext | undefined;
  let steps: Step[] = [];
  try {
    url = spec.needsRouter === false ? await o.runtime.accessUrl() : await ensureAccess(engine, o);
    engine.store.updateDeployment(d.id, { accessUrl: url });
    steps = await spec.plan();
    engine.store.insertSteps(d.id, steps.map((s) => ({ kind: s.kind, params: s })));
    engine.store.updateDeployment(d.id, { plan: steps });
    emit('info', spec.headline, 'plan', { steps: steps.length });
    const releases = [spec.existing, spec.previous && spec.previous !== spec.existing?.id ? engine.store.getRelease(o.app, o.name, spec.previous) : undefined].filter((r): r is ReleaseRecord => Boolean(r));
    ctx = await executionContext(engine, o, d, { release: spec.releaseId, count: spec.count, kind: spec.kind, releases, build: spec.build, abort, live: true, fallback: spec.fallback });
    // The old instances' retirement, when it overlaps the record, goes on beside the finishing work below.
    let retiring: Promise<Error | undefined> | undefined;
    ctx.handOverRetirement = (r) => {
      retiring = r;
    };
    await executeSteps(ctx, steps);
    try {
      if (spec.needsRouter !== false) await retireFormerAccess(o, emit);
      await prune(engine, o, emit);
    } catch (err) {
      await retiring;
      throw err;
    }
    // Settled before the result (and so before the lock is released).
    const retireError = retiring && (await retiring);
    if (retireError) throw retireError;
    const analyses = ctx.outcome.analyses;
    return finish('succeeded', { reason: spec.reason, analysis: analyses.length ? analyses : undefined, nodes: nodeReport(ctx, steps) });
  } catch (err) {
    const e = toGantryError(err);
    // Printed once in full by the result; the events say it in one line (the full text stays in their data).
    emit('error', headline(e.message), 'error', e.toJSON());
    const attempted = ctx?.outcome.built ?? spec.existing;
    if (attempted && spec.kind === 'deploy') engine.store.setReleaseStatus(o.app, o.name, attempted.id, 'failed');
    // The failure itself was just said (above) and the result says it in full: later lines name it by its code.
    const what = e.code.toLowerCase().replace(/_/g, ' ');
    const restored = await runCompensation(engine, o, d, spec.fallback, what);
    const analyses: AnalysisVerdict[] = [...(ctx?.outcome.analyses ?? []), ...(err instanceof CanaryFailedError ? [err.verdict] : [])];
    const back = restored && spec.fallback.release ? `; release ${spec.fallback.release} keeps serving` : '';
    // A rollout that failed is rolled back when what served before serves again; a start or scale that failed simply failed.
    const status: DeployStatus = restored && spec.rollout ? 'rolled_back' : 'failed';
    return finish(status, { reason: `${e.message}${back}`, error: e.toJSON(), logs: err instanceof HealthGateError ? err.logTail : undefined, analysis: analyses.length ? analyses : undefined, nodes: nodeReport(ctx, steps, restored) }, `${what}${back}`);
  } finally {
    abort.dispose();
  }
}
