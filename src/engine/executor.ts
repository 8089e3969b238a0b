import type { ReleaseRecord, Store } from '../store/index.js';
import type { AbortWatch } from './abort.js';
import type { AnalysisVerdict } from './analysis.js';
import { runStep } from './executors.js';
import type { HealthSpec } from './health.js';
import { describeStep, type Step } from './plan.js';
import type { InstanceHandle } from './target.js';
import type { EngineEventLevel, Opened, RunnableRelease } from './types.js';

/** Everything a step's executor is handed; nothing reaches it through a closure of the engine. */
export interface ExecutionContext {
  store: Store;
  deploymentId: string;
  /** The opened target: its runtime, manifest and target context. */
  o: Opened;
  /** The release this rollout moves to, with how many instances, and the release it replaces. */
  release: string;
  count: number;
  previous?: string;
  /** Releases instances may be started from, by id. */
  releases: Map<string, RunnableRelease>;
  /** Instances the steps can reach by id: those observed when execution began, plus those it started. */
  handles: Map<string, InstanceHandle>;
  health: HealthSpec;
  drainTimeoutMs: number;
  stopTimeoutMs: number;
  emit: (level: EngineEventLevel, message: string, step?: string, data?: unknown) => void;
  /** Told what each wait waits for, while it lasts (shown by `status`). */
  onWait?: (what: string | undefined) => void;
  /** Builds the new release (deploys only). */
  build?: () => Promise<ReleaseRecord>;
  /** A stored release made startable (its secrets resolved at their recorded versions). */
  runnable: (release: ReleaseRecord) => Promise<RunnableRelease>;
  /** What the steps report back to the caller. */
  outcome: { built?: ReleaseRecord; analyses: AnalysisVerdict[] };
  /** Asked-for aborts (`gantry abort`, Ctrl-C): checked between steps and inside long waits, until the release is recorded. */
  abort?: AbortWatch;
}

/** Test-only: GANTRY_TEST_CRASH_AT=<step kind>[#n] SIGKILLs the engine as it starts that step (crash-safety tests). */
function crashHook(step: Step, seen: Map<string, number>): void {
  const spec = process.env.GANTRY_TEST_CRASH_AT;
  if (!spec) return;
  const [kind, nth] = spec.split('#');
  if (kind !== step.kind) return;
  const count = (seen.get(kind) ?? 0) + 1;
  seen.set(kind, count);
  if (count === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}

/**
 * Run persisted steps from `from` on (`storedFrom`: the stored index of steps[0], for steps appended to a deployment's). Every step is marked running/done/failed in
 * the store before and after, so a later command can see how far a deploy came.
 */
export async function executeSteps(ctx: ExecutionContext, steps: Step[], from = 0, storedFrom = 0): Promise<void> {
  for (const i of await ctx.o.runtime.instances()) ctx.handles.set(i.id, i);
  const seen = new Map<string, number>();
  // Once the release is recorded as current the rollout is done: an abort after that changes nothing.
  let committed = false;
  for (let idx = from; idx < steps.length; idx++) {
    const step = steps[idx]!;
    if (!committed) ctx.abort?.check();
    ctx.store.setStepStatus(ctx.deploymentId, storedFrom + idx, 'running');
    // After the step is marked running: a crash test sees the step started (its start recorded), as a real crash inside it would.
    crashHook(step, seen);
    ctx.emit('info', describeStep(step), step.kind, step);
    try {
      await runStep(ctx, step);
      ctx.store.setStepStatus(ctx.deploymentId, storedFrom + idx, 'done');
      if (step.kind === 'record') committed = true;
    } catch (err) {
      // A wait cut short by an abort fails as the abort, whatever it reported.
      const aborted = committed ? undefined : ctx.abort?.error();
      ctx.store.setStepStatus(ctx.deploymentId, storedFrom + idx, 'failed', (aborted ?? (err as Error)).message);
      throw aborted ?? err;
    } finally {
      ctx.onWait?.(undefined);
    }
  }
}
