/**
 * One batch of a many-node plan: each node runs its own steps on its own
 * runtime, `parallel` nodes at a time, each within its own time limit (a slow
 * node counts as failed and never stalls the batch). A failed node is put back
 * on its own; past `maxFailed` failed nodes over the whole plan, the batch
 * throws and the plan's compensation takes every node back.
 */
import { GantryError } from '../core/errors.js';
import type { AbortWatch } from './abort.js';
import type { ExecutionContext } from './executor.js';
import type { Step } from './plan.js';
import type { NodeReport } from './types.js';

export class NodesFailedError extends GantryError {
  constructor(readonly failed: NodeReport[], maxFailed: number) {
    super('NODES_FAILED', `${failed.length} node(s) failed, more than strategy.max_failed (${maxFailed}): ${failed.map((n) => `${n.node}: ${n.error ?? n.status}`).join('; ')}`, 'every node was taken back to the previous release; the per-node report says what each did (`gantry logs`, `gantry events`)');
  }
}

class NodeTimeoutError extends GantryError {
  constructor(node: string, ms: number) {
    super('INTERRUPTED', `node ${node} did not finish its part of the batch within strategy.node_timeout (${Math.round(ms / 1000)}s)`, 'check the node (`gantry doctor`), or raise strategy.node_timeout');
  }
}

/** Runs one stored step (status kept in the store). */
export type RunStored = (ctx: ExecutionContext, step: Step, idx: number) => Promise<void>;

/** A node's abort watch: the rollout's own, plus the node's time limit. */
function nodeAbort(parent: AbortWatch | undefined, node: string, ms: number): AbortWatch & { timedOut: () => boolean } {
  const timer = new AbortController();
  const t = setTimeout(() => timer.abort(new NodeTimeoutError(node, ms)), ms);
  const signal = parent ? AbortSignal.any([parent.signal, timer.signal]) : timer.signal;
  return {
    signal,
    check: () => {
      parent?.check();
      if (timer.signal.aborted) throw timer.signal.reason;
    },
    error: () => parent?.error() ?? (timer.signal.aborted ? (timer.signal.reason as NodeTimeoutError) : undefined),
    dispose: () => clearTimeout(t),
    timedOut: () => timer.signal.aborted,
  };
}

async function limit<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: Math.min(n, queue.length) }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

/**
 * Run the node steps at `indexes` (positions in `steps`) of the batch `marker`.
 * `done` holds positions already done (a resumed plan skips them).
 */
export async function runBatch(ctx: ExecutionContext, marker: Extract<Step, { kind: 'batch' }>, steps: Step[], indexes: number[], runStored: RunStored, done: Set<number>): Promise<void> {
  const reports = (ctx.outcome.nodes ??= []);
  const byNode = new Map<string, number[]>(marker.nodes.map((n) => [n, []]));
  for (const i of indexes) byNode.get((steps[i] as { node?: string }).node!)?.push(i);
  await limit(marker.nodes, marker.parallel, async (node) => {
    const runtime = ctx.nodes?.get(node);
    const started = Date.now();
    const report: NodeReport = { node, batch: marker.index, status: 'succeeded' };
    const abort = nodeAbort(ctx.abort, node, marker.nodeTimeoutMs);
    try {
      if (!runtime) throw new GantryError('TARGET_UNAVAILABLE', `node ${node} is not among the target's nodes now`, 'check the target\'s node list in the manifest');
      const nodeCtx: ExecutionContext = { ...ctx, runtime, handles: new Map(), abort, nodeReport: report };
      const work = (async () => {
        for (const i of await runtime.instances()) nodeCtx.handles.set(i.id, i);
        for (const i of byNode.get(node)!) if (!done.has(i)) await runStored(nodeCtx, steps[i]!, i);
      })();
      // The time limit ends the wait even for a step that does not watch the signal (a hung connection).
      await Promise.race([work, new Promise((_, reject) => abort.signal.addEventListener('abort', () => reject(abort.signal.reason), { once: true }))]);
    } catch (err) {
      if (ctx.abort?.error()) throw ctx.abort.error();
      report.status = abort.timedOut() ? 'timed_out' : 'failed';
      report.error = (err as Error).message;
      ctx.emit('error', `node ${node} failed: ${report.error}`, 'batch', { node });
      if (runtime && ctx.onNodeFailed) {
        if (await ctx.onNodeFailed(node, runtime, err as Error).catch(() => false)) report.status = report.status === 'timed_out' ? 'timed_out' : 'rolled_back';
      }
    } finally {
      abort.dispose();
      report.duration_ms = Date.now() - started;
      const at = reports.findIndex((r) => r.node === node);
      if (at >= 0) reports[at] = report;
      else reports.push(report);
    }
  });
  const failed = reports.filter((r) => r.status !== 'succeeded' && r.status !== 'not_started');
  if (failed.length > marker.maxFailed) throw new NodesFailedError(failed, marker.maxFailed);
}
