import { GantryError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import { waitHealthy, type HealthSpec } from './health.js';
import { describeStep, type Step } from './plan.js';
import type { InstanceHandle, ReleaseRef, TargetRuntime } from './target.js';

export interface ExecutionContext {
  store: Store;
  deploymentId: string;
  runtime: TargetRuntime;
  /** Releases instances may be started from, by id. */
  releases: Map<string, ReleaseRef & { env: Record<string, string>; secretEnv: Record<string, string> }>;
  appEnv: (release: string, instance: string) => Record<string, string>;
  health: HealthSpec;
  drainTimeoutMs: number;
  stopTimeoutMs: number;
  emit: (level: 'info' | 'warn' | 'error', message: string, step?: string, data?: unknown) => void;
  /** Steps the engine performs itself (build, record, hooks). */
  custom: Partial<Record<Step['kind'], (step: Step) => Promise<void>>>;
  /** Told what each wait waits for, while it lasts (shown by `status`). */
  onWait?: (what: string | undefined) => void;
}

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

/** Test-only: GANTRY_TEST_CRASH_AT=<step kind>[#n] SIGKILLs the engine as it reaches that step (crash-safety tests). */
function crashHook(step: Step, seen: Map<string, number>): void {
  const spec = process.env.GANTRY_TEST_CRASH_AT;
  if (!spec) return;
  const [kind, nth] = spec.split('#');
  if (kind !== step.kind) return;
  const count = (seen.get(kind) ?? 0) + 1;
  seen.set(kind, count);
  if (count === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
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

/**
 * Run persisted steps from `from` on. Every step is marked running/done/failed in
 * the store before and after, so a later command can see how far a deploy came.
 */
export async function executeSteps(ctx: ExecutionContext, steps: Step[], from = 0): Promise<void> {
  const handles = new Map<string, InstanceHandle>();
  for (const i of await ctx.runtime.instances()) handles.set(i.id, i);
  const seen = new Map<string, number>();
  for (let idx = from; idx < steps.length; idx++) {
    const step = steps[idx]!;
    crashHook(step, seen);
    ctx.store.setStepStatus(ctx.deploymentId, idx, 'running');
    ctx.emit('info', describeStep(step), step.kind, step);
    try {
      await runStep(ctx, step, handles);
      ctx.store.setStepStatus(ctx.deploymentId, idx, 'done');
    } catch (err) {
      ctx.store.setStepStatus(ctx.deploymentId, idx, 'failed', (err as Error).message);
      throw err;
    } finally {
      ctx.onWait?.(undefined);
    }
  }
}

async function runStep(ctx: ExecutionContext, step: Step, handles: Map<string, InstanceHandle>): Promise<void> {
  const custom = ctx.custom[step.kind];
  if (custom) return custom(step);
  switch (step.kind) {
    case 'startInstance': {
      const rel = ctx.releases.get(step.release);
      if (!rel) throw new GantryError('RELEASE_NOT_FOUND', `release ${step.release} is not available to start`);
      const h = await ctx.runtime.startInstance({ id: step.instance, index: step.index, release: rel, env: ctx.appEnv(step.release, step.instance), secretEnv: rel.secretEnv });
      handles.set(h.id, h);
      return;
    }
    case 'checkHealth': {
      const h = handles.get(step.instance);
      if (!h) throw new GantryError('INTERNAL', `no handle for instance ${step.instance}`);
      ctx.onWait?.(`health of ${step.instance} (${ctx.health.type}${ctx.health.type === 'http' ? ` ${ctx.health.path}` : ''})`);
      const r = await waitHealthy(ctx.runtime, h, ctx.health);
      if (!r.ok) throw new HealthGateError(step.instance, r.detail, await lastLogLines(ctx.runtime, step.instance, 10));
      ctx.emit('info', `${step.instance} healthy after ${r.ms}ms (${r.detail})`, step.kind);
      return;
    }
    case 'switchTraffic': {
      const routes = step.routes.map((r) => {
        const h = handles.get(r.instance);
        if (!h) throw new GantryError('INTERNAL', `cannot route to unknown instance ${r.instance}`);
        return { ...r, url: `http://${h.endpoint.host}:${h.endpoint.port}` };
      });
      await ctx.runtime.setRoutes(routes);
      return;
    }
    case 'drain':
      ctx.onWait?.(`in-flight requests of ${step.instances.join(', ')} (up to ${ctx.drainTimeoutMs}ms)`);
      await ctx.runtime.drain(step.instances, ctx.drainTimeoutMs);
      return;
    case 'stopInstance':
      await ctx.runtime.stopInstance(step.instance, ctx.stopTimeoutMs);
      handles.delete(step.instance);
      return;
    case 'keepWarm':
      for (const id of step.instances) await ctx.runtime.stopInstanceLater(id, step.ms, ctx.stopTimeoutMs);
      return;
    default:
      throw new GantryError('INTERNAL', `no executor for step ${step.kind}`);
  }
}
