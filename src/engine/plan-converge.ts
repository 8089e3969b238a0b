/**
 * The convergence planner: from what runs now (observed, with a health verdict
 * each) to `count` healthy routed instances of one release and nothing else.
 * start, scale, heal, the start after a restore, and the compensation of a
 * failed plan are all this plan; it is data like a rollout's and runs through
 * the same executors.
 */
import type { Step } from './plan.js';

export interface ObservedForPlan {
  instance: string;
  release: string;
  /** Running and answering its health check when observed. */
  healthy: boolean;
  routed: boolean;
}

export interface ConvergeInput {
  release: string;
  count: number;
  observed: ObservedForPlan[];
  /** An id for the new instance at this index. */
  newInstanceId: (index: number) => string;
  /** Stop-then-start: never two releases running at once. */
  exclusive: boolean;
}

export function planConverge(input: ConvergeInput): Step[] {
  const { release, count } = input;
  // Keep healthy instances of the release, those serving now first (a failed restart goes back to what served).
  const candidates = input.observed.filter((i) => i.release === release && i.healthy).sort((a, b) => Number(b.routed) - Number(a.routed));
  const keep = candidates.slice(0, count).map((i) => i.instance);
  const others = input.observed.map((i) => i.instance).filter((id) => !keep.includes(id));
  const fresh = Array.from({ length: count - keep.length }, (_, i) => input.newInstanceId(keep.length + i));
  const route = (ids: string[]): Step => ({ kind: 'switchTraffic', routes: ids.map((instance) => ({ instance, release, weight: 1 })) });
  const start: Step[] = [
    ...fresh.map((instance, i): Step => ({ kind: 'startInstance', instance, release, index: keep.length + i })),
    ...fresh.map((instance): Step => ({ kind: 'checkHealth', instance })),
  ];
  const retire: Step[] = others.length ? [{ kind: 'drain', instances: others }, ...others.map((instance): Step => ({ kind: 'stopInstance', instance }))] : [];
  const otherRelease = input.observed.some((i) => others.includes(i.instance) && i.release !== release);
  if (input.exclusive && otherRelease && fresh.length) {
    // Only what is kept serves (or requests are held) while the other release drains and stops, then the new ones start.
    return [route(keep), ...retire, ...start, route([...keep, ...fresh])];
  }
  return [...start, route([...keep, ...fresh]), ...retire];
}
