/**
 * A plan is data: the typed steps a deploy will run, written to the store before
 * it runs, printed by `gantry plan`, read back by crash recovery.
 */
import { z } from 'zod';

/** A route before ports are known: the executor fills in each instance's URL. */
export const RouteIntentSchema = z.object({ instance: z.string(), release: z.string(), weight: z.number() });
export type RouteIntent = z.infer<typeof RouteIntentSchema>;

/** On a many-node target: the node a step runs on (absent: the target's one place). */
const NodeName = z.string().optional();

/**
 * Every step kind and its parameters; stored steps are parsed with it when read back.
 * A new kind is added here, in describeStep below, and in EXECUTORS (executors.ts).
 */
export const StepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('build'), release: z.string() }),
  z.object({ kind: z.literal('hook'), name: z.enum(['pre_deploy', 'post_deploy']) }),
  /** Bring the release's files to where the node runs it (e.g. a transfer to a host); only for runtimes that have `stage`. */
  z.object({ kind: z.literal('stage'), release: z.string(), node: NodeName }),
  z.object({ kind: z.literal('startInstance'), instance: z.string(), release: z.string(), index: z.number(), node: NodeName }),
  z.object({ kind: z.literal('checkHealth'), instance: z.string(), node: NodeName }),
  z.object({ kind: z.literal('switchTraffic'), routes: z.array(RouteIntentSchema), node: NodeName }),
  z.object({ kind: z.literal('drain'), instances: z.array(z.string()), node: NodeName }),
  z.object({ kind: z.literal('stopInstance'), instance: z.string(), node: NodeName }),
  /** Canary gate: hold `percent` of traffic on the new release for `pause` (or until `gantry promote`), judging its figures. */
  z.object({ kind: z.literal('analyze'), release: z.string(), percent: z.number(), pause: z.union([z.number(), z.literal('manual')]), node: NodeName }),
  /** After full promotion: keep checking the new instances' health for `ms`; a failure switches back to the (still warm) previous release. */
  z.object({ kind: z.literal('watch'), release: z.string(), instances: z.array(z.string()), ms: z.number(), node: NodeName }),
  /** Old instances stay up, unrouted, for `ms` (instant switch-back), then stop. */
  z.object({ kind: z.literal('keepWarm'), instances: z.array(z.string()), ms: z.number(), node: NodeName }),
  z.object({ kind: z.literal('record'), release: z.string() }),
  /** Stop every instance and the access point (`gantry stop`, or going back to "stopped"). */
  z.object({ kind: z.literal('shutdown'), node: NodeName }),
  /**
   * Many-node targets: the steps that follow, up to the next step without a node, are one batch:
   * each node runs its own steps, `parallel` nodes at a time, each within `nodeTimeoutMs`; a failed
   * node is put back on its own, and past `maxFailed` failed nodes (counted over the whole plan) the plan fails.
   */
  z.object({ kind: z.literal('batch'), index: z.number(), of: z.number(), nodes: z.array(z.string()), parallel: z.number(), maxFailed: z.number(), nodeTimeoutMs: z.number() }),
  /** Marks where a plan's compensation begins: what follows undoes a failed or aborted plan (to `release` × `count`, or to nothing). */
  z.object({ kind: z.literal('compensate'), release: z.string().optional(), count: z.number(), reason: z.string() }),
]);
export type Step = z.infer<typeof StepSchema>;

export type StepKind = Step['kind'];

export interface RolloutInput {
  release: string;
  /** Ids for the new instances, one per desired instance. */
  newInstances: string[];
  /** Instances serving now (routed), in order. */
  old: Array<{ instance: string; release: string }>;
  strategy: {
    type: 'recreate' | 'rolling' | 'blue-green' | 'canary';
    maxSurge: number;
    maxUnavailable: number;
    /** Canary traffic percentages, ascending, ending at 100. */
    steps?: number[];
    pause?: number | 'manual';
    /** Blue-green: how long the old set stays warm after the switch. */
    keepPreviousMs?: number;
    /** Post-switch watch window; 0 = none. */
    watchMs?: number;
  };
  /** Stop-then-start: never two releases at once (apps holding file locks). */
  exclusive: boolean;
}

const route = (instance: string, release: string): RouteIntent => ({ instance, release, weight: 1 });

function startAndCheck(release: string, ids: string[], firstIndex: number): Step[] {
  return [
    ...ids.map((instance, i): Step => ({ kind: 'startInstance', instance, release, index: firstIndex + i })),
    ...ids.map((instance): Step => ({ kind: 'checkHealth', instance })),
  ];
}

function retire(ids: string[]): Step[] {
  if (ids.length === 0) return [];
  return [{ kind: 'drain', instances: ids }, ...ids.map((instance): Step => ({ kind: 'stopInstance', instance }))];
}

/** Turn (desired release, what serves now, strategy) into the rollout's steps. */
export function planRollout(input: RolloutInput): Step[] {
  const steps = planSwitch(input);
  const watchMs = input.strategy.watchMs ?? 0;
  // Nothing serves before a first deploy, so there is nothing to switch back to: no watch.
  if (watchMs <= 0 || input.old.length === 0) return steps;
  return deferRetirementUntilWatched(steps, { kind: 'watch', release: input.release, instances: input.newInstances, ms: watchMs }, new Set(input.old.map((o) => o.instance)));
}

/**
 * The previous release stays warm (drained, unrouted, running) until the watch
 * window has passed: its stop and keep-warm steps move after the watch step.
 * Where it was already stopped (recreate, exclusive) the watch simply follows.
 */
function deferRetirementUntilWatched(steps: Step[], watch: Extract<Step, { kind: 'watch' }>, oldIds: Set<string>): Step[] {
  const isOldRetirement = (s: Step): boolean => (s.kind === 'stopInstance' && oldIds.has(s.instance) && !stoppedBeforeNewStarted(steps, s)) || s.kind === 'keepWarm';
  const kept = steps.filter((s) => !isOldRetirement(s));
  const deferred = steps.filter(isOldRetirement);
  return [...kept, watch, ...deferred];
}

function stoppedBeforeNewStarted(steps: Step[], stop: Step): boolean {
  const firstStart = steps.findIndex((s) => s.kind === 'startInstance');
  return steps.indexOf(stop) < firstStart;
}

function planSwitch(input: RolloutInput): Step[] {
  const { release, newInstances, old } = input;
  const oldIds = old.map((o) => o.instance);
  const allNew = newInstances.map((id) => route(id, release));

  if (old.length === 0) {
    return [...startAndCheck(release, newInstances, 0), { kind: 'switchTraffic', routes: allNew }];
  }

  if (input.exclusive || input.strategy.type === 'recreate') {
    // Routes go empty while the proxy holds new requests; the old set drains and stops before the new one starts.
    return [{ kind: 'switchTraffic', routes: [] }, ...retire(oldIds), ...startAndCheck(release, newInstances, 0), { kind: 'switchTraffic', routes: allNew }];
  }

  if (input.strategy.type === 'blue-green') {
    const warm: Step[] = input.strategy.keepPreviousMs ? [{ kind: 'drain', instances: oldIds }, { kind: 'keepWarm', instances: oldIds, ms: input.strategy.keepPreviousMs }] : retire(oldIds);
    return [...startAndCheck(release, newInstances, 0), { kind: 'switchTraffic', routes: allNew }, ...warm];
  }

  if (input.strategy.type === 'canary') {
    const steps: Step[] = startAndCheck(release, newInstances, 0);
    for (const percent of (input.strategy.steps ?? [100]).filter((p) => p < 100)) {
      // Integer weights giving exactly percent% to the new set, whatever the instance counts.
      const routes = [
        ...old.map((o) => ({ instance: o.instance, release: o.release, weight: (100 - percent) * newInstances.length })),
        ...newInstances.map((id) => ({ instance: id, release, weight: percent * old.length })),
      ];
      steps.push({ kind: 'switchTraffic', routes }, { kind: 'analyze', release, percent, pause: input.strategy.pause ?? 0 });
    }
    return [...steps, { kind: 'switchTraffic', routes: allNew }, ...retire(oldIds)];
  }

  // rolling: replace `batch` instances at a time; the routed set never shrinks below what serves now.
  const batch = Math.max(1, input.strategy.maxSurge + input.strategy.maxUnavailable);
  const steps: Step[] = [];
  let routed = old.map((o) => route(o.instance, o.release));
  const remainingOld = [...oldIds];
  for (let i = 0; i < newInstances.length; i += batch) {
    const ids = newInstances.slice(i, i + batch);
    const last = i + batch >= newInstances.length;
    const replaced = last ? remainingOld.splice(0) : remainingOld.splice(0, ids.length);
    steps.push(...startAndCheck(release, ids, i));
    routed = [...routed.filter((r) => !replaced.includes(r.instance)), ...ids.map((id) => route(id, release))];
    steps.push({ kind: 'switchTraffic', routes: routed }, ...retire(replaced));
  }
  return steps;
}

/** One line per step, for `gantry plan` and progress output. */
export function describeStep(s: Step): string {
  const line = describeOne(s);
  return 'node' in s && s.node ? `[${s.node}] ${line}` : line;
}

function describeOne(s: Step): string {
  switch (s.kind) {
    case 'build':
      return `build release ${s.release}`;
    case 'hook':
      return `run hook ${s.name}`;
    case 'stage':
      return `bring release ${s.release} to the node (only the files it lacks)`;
    case 'startInstance':
      return `start instance ${s.instance} (#${s.index})`;
    case 'checkHealth':
      return `wait for ${s.instance} to be healthy`;
    case 'switchTraffic':
      return s.routes.length ? `route traffic to ${s.routes.map((r) => (s.routes.some((x) => x.weight !== r.weight) ? `${r.instance}×${r.weight}` : r.instance)).join(', ')}` : 'hold new requests (no backend routed)';
    case 'drain':
      return `drain ${s.instances.join(', ')}`;
    case 'stopInstance':
      return `stop instance ${s.instance}`;
    case 'analyze':
      return `hold ${s.percent}% of traffic on the canary ${s.pause === 'manual' ? 'until `gantry promote`' : `for ${s.pause}ms`}, judging its figures`;
    case 'keepWarm':
      return `keep ${s.instances.join(', ')} warm for ${s.ms}ms, then stop`;
    case 'watch':
      return `watch the health of ${s.instances.join(', ')} for ${s.ms}ms (the previous release stays warm)`;
    case 'record':
      return `record ${s.release} as current`;
    case 'batch':
      return `batch ${s.index + 1} of ${s.of}: ${s.nodes.join(', ')} (${s.parallel} at a time, up to ${s.maxFailed} failed node(s) tolerated in all)`;
    case 'shutdown':
      return 'stop every instance and the access point';
    case 'compensate':
      return s.release ? `go back: ${s.reason}; ${s.release} with ${s.count} instance(s)` : `go back: ${s.reason}; nothing left running`;
  }
}
