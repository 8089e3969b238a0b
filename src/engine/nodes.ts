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
import { routerOptions } from './util.js';

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

/**
 * The nodes a plan covers: those chosen with `--host`, else every node but the
 * held ones (stopped on their own with `gantry stop --host`: convergence,
 * rollouts and compensations leave them as they are).
 */
export async function planNodes(engine: EngineContext, o: Opened): Promise<NodeRun[] | undefined> {
  const nodes = await openNodes(engine, o);
  if (!nodes) return undefined;
  return o.hosts ? nodes.filter((n) => o.hosts!.includes(n.name)) : nodes.filter((n) => !o.record.heldNodes.includes(n.name));
}

/** How many places run the desired count: 1, or each node a plan covers. */
export async function placeCount(engine: EngineContext, o: Opened): Promise<number> {
  return (await planNodes(engine, o))?.length ?? 1;
}

/** Bring up the access point where the plan runs (on a many-node target: each planned node's, never a held node's); returns the access URL. */
export async function ensureAccess(engine: EngineContext, o: Opened): Promise<string | undefined> {
  const nodes = await planNodes(engine, o);
  if (!nodes) return (await o.runtime.ensureRouter(routerOptions(o.manifest))).url;
  // A node that cannot be reached now fails inside its own steps, with its own error and
  // timeout; it must not keep the others from their access point (nor a compensation from going back).
  const settled = await Promise.allSettled(nodes.map((n) => n.runtime.ensureRouter(routerOptions(o.manifest))));
  const up = settled.find((r) => r.status === 'fulfilled');
  if (!up && settled[0]?.status === 'rejected') throw settled[0].reason;
  return up?.value.url ?? (await o.runtime.accessUrl());
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
