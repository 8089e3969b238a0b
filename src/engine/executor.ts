import type { DeploymentKind, ReleaseRecord, Store } from '../store/index.js';
import type { AbortWatch } from './abort.js';
import type { AnalysisVerdict } from './analysis.js';
import { runBatch } from './batch-run.js';
import { runStep } from './executors.js';
import type { HealthSpec } from './health.js';
import { describeStep, type Step } from './plan.js';
import type { InstanceHandle, TargetRuntime } from './target.js';
import type { EngineEventLevel, NodeReport, Opened, RunnableRelease } from './types.js';

/** Everything a step's executor is handed; nothing reaches it through a closure of the engine. */
export interface ExecutionContext {
  store: Store;
  deploymentId: string;
  /** The opened target: its manifest and target context (and its runtime for all nodes together). */
  o: Opened;
  /** Where node-level steps run: the target's runtime, or within a batch the runtime of one node. */
  runtime: TargetRuntime;
  /** Many-node targets: each node's runtime, by name. */
  nodes?: Map<string, TargetRuntime>;
  /** Many-node targets: a node whose part of a batch failed is put back on its own (true: it serves its previous state again). */
  onNodeFailed?: (node: string, runtime: TargetRuntime, error: Error) => Promise<boolean>;
  /** The release this rollout moves to, with how many instances, and the release it replaces. */
  release: string;
  count: number;
  /** The plan's kind (a compensation going back has none): told to startInstance with the count. */
  kind?: DeploymentKind;
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
  onWait?: (what: string | undefined, totalMs?: number) => void;
  /** Builds the new release (deploys only). */
  build?: () => Promise<ReleaseRecord>;
  /** A stored release made startable (its secrets resolved at their recorded versions). */
  runnable: (release: ReleaseRecord) => Promise<RunnableRelease>;
  /** What the steps report back to the caller. */
  outcome: { built?: ReleaseRecord; analyses: AnalysisVerdict[]; nodes?: NodeReport[] };
  /** Within a batch: the node's report, which steps may add figures to (bytes staged). */
  nodeReport?: NodeReport;
  /** Asked-for aborts (`gantry abort`, Ctrl-C): checked between steps and inside long waits, until the release is recorded. */
  abort?: AbortWatch;
  /**
   * When set, the old instances' retirement that overlaps the record (see overlappedRetirement)
   * is handed here when the steps end, for the caller to overlap with its own finishing work: it
   * settles with its error (or undefined) and must be awaited before the deployment ends and its
   * lock is released.
   */
  handOverRetirement?: (retiring: Promise<Error | undefined>) => void;
}

const RETIREMENT_KINDS = new Set<Step['kind']>(['drain', 'stopInstance', 'keepWarm']);

/**
 * The old instances' retirement run just before the record: the new release serves
 * already (every switch is before it), so draining and stopping what it replaced
 * overlaps recording it. [start, end) of that run, or undefined. Node steps (batches)
 * and plans that switch or stop after it keep their order.
 */
export function overlappedRetirement(steps: Step[], from: number): { start: number; end: number } | undefined {
  const record = steps.findIndex((s, i) => i >= from && s.kind === 'record');
  if (record < 0) return undefined;
  let start = record;
  while (start > from && RETIREMENT_KINDS.has(steps[start - 1]!.kind) && (steps[start - 1] as { node?: string }).node === undefined) start--;
  if (start === record) return undefined;
  // Its own instances may not be among what the plan routes to at the end.
  const routed = new Set(steps.filter((s) => s.kind === 'switchTraffic').at(-1)?.routes.map((r) => r.instance) ?? []);
  const touched = steps.slice(start, record).flatMap((s) => (s.kind === 'drain' || s.kind === 'keepWarm' ? s.instances : s.kind === 'stopInstance' ? [s.instance] : []));
  if (touched.some((id) => routed.has(id))) return undefined;
  return { start, end: record };
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

/** The end (exclusive) of the batch region starting at the marker at `idx`: the node steps that follow it. */
function batchEnd(steps: Step[], idx: number): number {
  let end = idx + 1;
  while (end < steps.length && steps[end]!.kind !== 'batch' && (steps[end] as { node?: string }).node !== undefined) end++;
  return end;
}

/**
 * Run persisted steps from `from` on (`storedFrom`: the stored index of
 * steps[0], for steps appended to a deployment's). Every step is marked
 * running/done/failed in the store before and after, so a later command can
 * see how far a plan came. A batch marker runs its node steps per node
 * (batch-run.ts); resuming inside a batch restarts the batch, skipping the
 * steps `done` (stored indexes) says already ran.
 */
export async function executeSteps(ctx: ExecutionContext, steps: Step[], from = 0, storedFrom = 0, done: Set<number> = new Set()): Promise<void> {
  for (const i of await ctx.runtime.instances()) ctx.handles.set(i.id, i);
  const seen = new Map<string, number>();
  // Once the release is recorded as current the rollout is done: an abort after that changes nothing.
  let committed = false;
  const runStored = async (c: ExecutionContext, step: Step, idx: number): Promise<void> => {
    if (!committed) c.abort?.check();
    c.store.setStepStatus(c.deploymentId, storedFrom + idx, 'running');
    // After the step is marked running: a crash test sees the step started (its start recorded), as a real crash inside it would.
    crashHook(step, seen);
    c.emit('info', describeStep(step), step.kind, step);
    try {
      await runStep(c, step);
      c.store.setStepStatus(c.deploymentId, storedFrom + idx, 'done');
      if (step.kind === 'record') committed = true;
    } catch (err) {
      // A wait cut short by an abort fails as the abort, whatever it reported.
      const aborted = committed ? undefined : c.abort?.error();
      c.store.setStepStatus(c.deploymentId, storedFrom + idx, 'failed', (aborted ?? (err as Error)).message);
      throw aborted ?? err;
    } finally {
      c.onWait?.(undefined);
    }
  };
  // Resuming inside a batch: from its marker (done steps are skipped).
  while (from > 0 && from < steps.length && (steps[from] as { node?: string }).node !== undefined && steps[from]!.kind !== 'batch') from--;
  const doneHere = new Set([...done].map((i) => i - storedFrom));
  const overlap = overlappedRetirement(steps, from);
  // The retirement under way beside the record: its outcome (an error, or undefined), never an unhandled rejection.
  let retiring: Promise<Error | undefined> | undefined;
  const retired = async (): Promise<void> => {
    const r = retiring;
    retiring = undefined;
    const err = r && (await r);
    if (err) throw err;
  };
  try {
    for (let idx = from; idx < steps.length; idx++) {
      const step = steps[idx]!;
      if (overlap && idx === overlap.start) {
        // In order among themselves (drain before stop), beside the record; each still marked running/done in the store.
        // The new release serves already: like the record, the retirement is past what an abort undoes.
        const quiet = { ...ctx, abort: undefined };
        const run = async (): Promise<void> => {
          for (let i = overlap.start; i < overlap.end; i++) await runStored(quiet, steps[i]!, i);
        };
        retiring = run().then(() => undefined, (err: unknown) => err as Error);
        idx = overlap.end - 1;
        continue;
      }
      // Anything after the record waits for the retirement (a post_deploy hook sees the old release gone, as before).
      if (retiring && step.kind !== 'record') await retired();
      if (step.kind !== 'batch') {
        await runStored(ctx, step, idx);
        continue;
      }
      const end = batchEnd(steps, idx);
      await runStored(ctx, step, idx);
      const indexes = Array.from({ length: end - idx - 1 }, (_, i) => idx + 1 + i);
      await runBatch(ctx, step, steps, indexes, runStored, doneHere);
      idx = end - 1;
    }
  } catch (err) {
    // A failed record: the retirement beside it settles before the failure goes on (to a compensation planned from what runs).
    if (retiring) await retiring;
    throw err;
  }
  if (retiring && ctx.handOverRetirement) {
    ctx.handOverRetirement(retiring);
    return;
  }
  await retired();
}
