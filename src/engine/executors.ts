/**
 * One executor per step kind, in one map. A new step kind is added in three
 * places: its type in plan.ts (Step), its line in describeStep, and its
 * executor here; the map's type makes a missing executor a compile error.
 */
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import { untilAborted } from './abort.js';
import type { ExecutionContext } from './executor.js';
import { analyzeCanary, watchAfterSwitch } from './gates.js';
import type { Step, StepKind } from './plan.js';
import { appEnv } from './release-secrets.js';
import type { ObservedInstance, TargetRuntime } from './target.js';

/** Thrown when a health gate fails; carries what the user needs to see. */
export class HealthGateError extends GantryError {
  constructor(
    readonly instance: string,
    detail: string,
    readonly logTail: string[],
  ) {
    super('HEALTH_FAILED', `instance ${instance} did not become healthy: ${detail}`, 'check the app\'s own output below (gantry logs), its health path and that it listens on $PORT');
  }
}

async function lastLogLines(runtime: TargetRuntime, instance: string, n: number): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const l of runtime.logs({ lines: n, follow: false, instances: [instance] })) out.push(`${l.stream === 'err' ? '! ' : ''}${l.text}`);
  } catch {
    /* logs are best effort here */
  }
  return out;
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export type Executor<K extends StepKind> = (step: Extract<Step, { kind: K }>, ctx: ExecutionContext) => Promise<void>;

export const EXECUTORS: { [K in StepKind]: Executor<K> } = {
  build: async (_step, ctx) => {
    if (!ctx.build) throw new GantryError('INTERNAL', 'a build step in a rollout that builds nothing');
    const release = await ctx.build();
    ctx.outcome.built = release;
    ctx.releases.set(release.id, await ctx.runnable(release));
    ctx.store.updateDeployment(ctx.deploymentId, { externalId: release.artifact.ref as string });
  },

  hook: async (step, ctx) => {
    const { o, emit } = ctx;
    const name = step.name;
    const rel = ctx.releases.get(ctx.release)!;
    const r = await ctx.runtime
      .runTask({ release: rel, command: o.manifest.hooks![name]!, env: appEnv(o, rel, `hook-${name}`), secretEnv: rel.secretEnv, timeoutMs: DEFAULTS.hookTimeoutMs })
      .catch((err: unknown) => {
        // After the switch a broken post_deploy is a warning, never a rollback of a healthy release.
        if (name === 'post_deploy') return { exitCode: -1, output: `could not run: ${(err as Error).message}` };
        throw err;
      });
    for (const line of r.output.split('\n').filter(Boolean).slice(-DEFAULTS.hookOutputLines)) emit(r.exitCode === 0 ? 'info' : 'warn', `${name}: ${line}`, 'hook');
    if (r.exitCode === 0) return;
    if (name === 'pre_deploy') throw new GantryError('HOOK_FAILED', `hooks.pre_deploy exited with code ${r.exitCode}; no traffic was moved`, 'its output is in the events above (gantry events); fix the hook or the release and deploy again');
    emit('warn', `hooks.post_deploy exited with code ${r.exitCode}; the release is deployed and stays`, 'hook');
  },

  stage: async (step, ctx) => {
    const rel = ctx.releases.get(step.release);
    if (!rel) throw new GantryError('RELEASE_NOT_FOUND', `release ${step.release} is not available to stage`);
    if (!ctx.runtime.stage) return;
    const r = await ctx.runtime.stage(rel);
    if (ctx.nodeReport) Object.assign(ctx.nodeReport, { bytes_sent: (ctx.nodeReport.bytes_sent ?? 0) + r.bytesSent, files_sent: r.filesSent, files_total: r.filesTotal });
    ctx.emit('info', `${step.node ? `${step.node}: ` : ''}release ${step.release} staged: ${r.filesSent} of ${r.filesTotal} files sent, ${formatBytes(r.bytesSent)}`, step.kind, { node: step.node, bytes_sent: r.bytesSent });
  },

  startInstance: async (step, ctx) => {
    // Resuming a plan: an instance this step started before the crash is observed, not started twice.
    const seen = ctx.handles.get(step.instance) as ObservedInstance | undefined;
    if (seen && seen.state !== 'stopped') return;
    const rel = ctx.releases.get(step.release);
    if (!rel) throw new GantryError('RELEASE_NOT_FOUND', `release ${step.release} is not available to start`);
    const h = await ctx.runtime.startInstance({ id: step.instance, index: step.index, release: rel, env: appEnv(ctx.o, rel, step.instance), secretEnv: rel.secretEnv, plan: ctx.kind && step.release === ctx.release ? { kind: ctx.kind, count: ctx.count } : undefined });
    ctx.handles.set(h.id, h);
  },

  checkHealth: async (step, ctx) => {
    const h = ctx.handles.get(step.instance);
    if (!h) throw new GantryError('INTERNAL', `no handle for instance ${step.instance}`);
    // Up to the start period plus the retries: how long the gate may take (the live line's "12 s of 30 s").
    ctx.onWait?.(`health of ${step.instance} (${ctx.health.type}${ctx.health.type === 'http' ? ` ${ctx.health.path}` : ''})`, ctx.health.startPeriodMs + ctx.health.retries * (ctx.health.intervalMs + ctx.health.timeoutMs));
    const r = await ctx.runtime.waitHealthy(h, ctx.health, ctx.abort?.signal);
    ctx.abort?.check();
    if (!r.ok) throw new HealthGateError(step.instance, r.detail, await lastLogLines(ctx.runtime, step.instance, 10));
    ctx.emit('info', `${step.instance} healthy after ${r.ms}ms (${r.detail})`, step.kind);
  },

  switchTraffic: async (step, ctx) => {
    const routes = step.routes.map((r) => {
      const h = ctx.handles.get(r.instance);
      if (!h) throw new GantryError('INTERNAL', `cannot route to unknown instance ${r.instance}`);
      return { ...r, url: `http://${h.endpoint.host}:${h.endpoint.port}` };
    });
    await ctx.runtime.setRoutes(routes);
  },

  drain: async (step, ctx) => {
    ctx.onWait?.(`in-flight requests of ${step.instances.join(', ')} (up to ${ctx.drainTimeoutMs}ms)`, ctx.drainTimeoutMs);
    await untilAborted(ctx.runtime.drain(step.instances, ctx.drainTimeoutMs), ctx.abort?.signal);
  },

  stopInstance: async (step, ctx) => {
    // Resuming a plan: an instance already gone (stopped before the crash) has nothing left to stop.
    if (!ctx.handles.has(step.instance)) return;
    await ctx.runtime.stopInstance(step.instance, ctx.stopTimeoutMs);
    ctx.handles.delete(step.instance);
  },

  keepWarm: async (step, ctx) => {
    for (const id of step.instances) await ctx.runtime.stopInstanceLater(id, step.ms, ctx.stopTimeoutMs);
  },

  analyze: async (step, ctx) => {
    ctx.outcome.analyses.push(await analyzeCanary(ctx.store, { ...ctx.o, runtime: ctx.runtime }, ctx.deploymentId, step, ctx.previous, ctx.emit, ctx.abort?.signal));
  },

  watch: async (step, ctx) => watchAfterSwitch(ctx.store, { ...ctx.o, runtime: ctx.runtime }, ctx.deploymentId, step, ctx.health, ctx.emit, ctx.abort?.signal),

  record: async (_step, ctx) => {
    const { o, store } = ctx;
    store.updateTarget(o.app, o.name, { currentRelease: ctx.release, desiredState: 'running', instances: ctx.count });
    if (ctx.previous && ctx.previous !== ctx.release) store.setReleaseStatus(o.app, o.name, ctx.previous, 'superseded');
    // A plan that changed which release serves makes it the last known good; a start or scale of the same release leaves its record as it was.
    const rel = store.getRelease(o.app, o.name, ctx.release);
    if (ctx.previous !== ctx.release || rel?.status !== 'active') store.setReleaseStatus(o.app, o.name, ctx.release, 'active', true);
    await ctx.runtime.markCurrent(ctx.releases.get(ctx.release)!);
  },


  shutdown: async (_step, ctx) => {
    await ctx.runtime.shutdown(ctx.stopTimeoutMs);
    ctx.handles.clear();
  },

  // A marker: executeSteps runs the batch's node steps (batch-run.ts).
  batch: async () => undefined,

  compensate: async (step, ctx) => {
    ctx.emit('warn', `going back${step.release ? ` to ${step.release} (${step.count} instance(s))` : ''}: ${step.reason}`, 'rollback');
  },
};

export function runStep(ctx: ExecutionContext, step: Step): Promise<void> {
  const executor = EXECUTORS[step.kind] as Executor<StepKind>;
  return executor(step as never, ctx);
}
