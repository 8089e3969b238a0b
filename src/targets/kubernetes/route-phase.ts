/**
 * What the engine's routes mean on a cluster. The engine routes instances with
 * weights; here they become which release's chart is applied at which phase:
 * a share of the new release below 100 % is the canary at that weight (blue-green:
 * its track up, not serving), 100 % is its promotion, and all traffic back on the
 * stable release empties the canary track.
 */
import type { Route } from '../../engine/target.js';
import type { Strategy } from './chart-input.js';
import type { Phase } from './render.js';

/**
 * Whether a route change is a helm operation. One workload (recreate, rolling) rolled itself out
 * when the release started, so its intermediate weights change nothing; only going back to
 * another release (a failed watch, a rollback) is. Two tracks move at every change.
 */
export function routeChangeApplies(twoTracks: boolean, next: { release: string; phase: Phase }, stable: string | undefined): boolean {
  return twoTracks || (next.phase.at === 'promoted' && next.release !== stable);
}

export function phaseForRoutes(routes: Array<Pick<Route, 'release' | 'weight'>>, stable: string | undefined, strategyOf: (release: string) => Strategy): { release: string; phase: Phase } | undefined {
  const total = routes.reduce((s, r) => s + r.weight, 0);
  if (total <= 0) return undefined;
  const share = new Map<string, number>();
  for (const r of routes) share.set(r.release, (share.get(r.release) ?? 0) + r.weight);
  const newest = [...share.keys()].find((r) => r !== stable);
  if (!newest) return stable ? { release: stable, phase: { at: 'promoted' } } : undefined;
  const percent = Math.round(((share.get(newest) ?? 0) * 100) / total);
  if (percent >= 100) return { release: newest, phase: { at: 'promoted' } };
  return { release: newest, phase: strategyOf(newest) === 'blue-green' ? { at: 'start' } : { at: 'weight', percent } };
}
