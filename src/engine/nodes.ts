/**
 * Many-node targets: their nodes (each with its own runtime) and the batches a
 * plan runs them in. A one-node target has none of this: its plans carry no
 * node and no batch, exactly as before.
 */
import type { Manifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { guardRuntime } from './open.js';
import type { Step } from './plan.js';
import type { Route, TargetRuntime } from './target.js';
import type { Opened } from './types.js';

export interface NodeRun {
  name: string;
  runtime: TargetRuntime;
}

/** The target's nodes, opened once per command; undefined for a one-node target. */
export async function openNodes(engine: EngineContext, o: Opened): Promise<NodeRun[] | undefined> {
  if (o.target.capabilities.nodes !== 'many' || !o.target.nodes) return undefined;
  o.nodes ??= await Promise.all((await o.target.nodes(o.ctx)).map(async (n) => ({ name: n.name, runtime: guardRuntime(engine, o.app, await n.runtime()) })));
  return o.nodes;
}

/** A count, or a percent of `total` (rounded up for sizes, down for tolerances). */
function resolve(v: number | string, total: number, round: (x: number) => number): number {
  return typeof v === 'number' ? v : round((total * Number(v.slice(0, -1))) / 100);
}

export interface BatchPolicy {
  size: number;
  parallel: number;
  maxFailed: number;
  nodeTimeoutMs: number;
}

export function batchPolicy(s: Manifest['strategy'], total: number): BatchPolicy {
  const size = Math.max(1, Math.min(total, resolve(s.batch, total, Math.ceil)));
  return { size, parallel: Math.max(1, Math.min(size, s.parallel ?? size)), maxFailed: resolve(s.max_failed, total, Math.floor), nodeTimeoutMs: s.node_timeout };
}

/**
 * The per-node part of a plan, in batches: a batch marker, then each node's
 * steps (tagged with the node). `perNode` plans one node from what runs there.
 */
export async function inBatches(nodes: NodeRun[], policy: BatchPolicy, perNode: (node: NodeRun) => Promise<Step[]>): Promise<Step[]> {
  const out: Step[] = [];
  const of = Math.ceil(nodes.length / policy.size);
  for (let b = 0; b < of; b++) {
    const batch = nodes.slice(b * policy.size, (b + 1) * policy.size);
    out.push({ kind: 'batch', index: b, of, nodes: batch.map((n) => n.name), parallel: policy.parallel, maxFailed: policy.maxFailed, nodeTimeoutMs: policy.nodeTimeoutMs });
    for (const node of batch) out.push(...(await perNode(node)).map((s) => ({ ...s, node: node.name }) as Step));
  }
  return out;
}

/** What each node routes now (the input of a rollout's per-node plan). */
export async function routesByNode(nodes: NodeRun[]): Promise<Map<string, Route[]>> {
  return new Map(await Promise.all(nodes.map(async (n) => [n.name, await n.runtime.routes()] as const)));
}
