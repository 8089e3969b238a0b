/**
 * The chart's objects and values for a release, and the same objects as the
 * cluster gets them (values applied). The Secret is not part of the chart: its
 * values are sent to the cluster at deploy time; here it appears redacted.
 */
import type { ChartInput } from './chart-input.js';
import { twoTracks } from './chart-input.js';
import { hookJobs } from './hook-jobs.js';
import { httpRoute, ingress, services } from './networking.js';
import { meta, names } from './object-names.js';
import { autoscaler, claims, configMap, disruptionBudget, quota, serviceAccount } from './platform-objects.js';
import { resolveValues, type Values } from './values-ref.js';
import { workloads } from './workloads.js';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

export const REDACTED = '[redacted]';

/**
 * Where a rollout stands, as chart values:
 * - `start`: the new release's first step (canary at its first weight, blue-green's new track up but not serving);
 * - `weight`: the canary at `percent`;
 * - `switched`: blue-green's new track serving, the previous one still warm;
 * - `promoted`: the new release is the stable track, the canary track empty.
 * A first deploy (nothing serving) is `promoted` from the start.
 */
export type Phase = { at: 'start' } | { at: 'weight'; percent: number } | { at: 'switched' } | { at: 'promoted' };

/**
 * Which hook Jobs an upgrade at `phase` runs: pre_deploy with the release's first upgrade, post_deploy with
 * its promotion. One workload (or a first deploy) is both at once; two tracks start, move weights
 * (no hook), then promote. Absent when the release declares no hook.
 */
export function hookValues(i: ChartInput, phase: Phase): Values | undefined {
  if (!i.hooks) return undefined;
  const single = !twoTracks(i) || i.stableRelease === i.release;
  return { pre_deploy: Boolean(i.hooks.pre_deploy) && (single || phase.at === 'start'), post_deploy: Boolean(i.hooks.post_deploy) && (single || phase.at === 'promoted') };
}

export function chartValues(i: ChartInput, phase: Phase = { at: 'start' }): Values {
  const hooks = hookValues(i, phase);
  const values = trackValues(i, phase);
  return hooks ? { ...values, hooks } : values;
}

function trackValues(i: ChartInput, phase: Phase): Values {
  const promoted: Values = { stable: { image: i.image, release: i.release, replicas: i.replicas }, canary: { image: i.image, release: i.release, replicas: 0 }, active: 'stable', inactive: 'canary', weights: { stable: 100, canary: 0 } };
  if (!twoTracks(i) || i.stableRelease === i.release || phase.at === 'promoted') return promoted;
  const base = { stable: { image: i.stableImage, release: i.stableRelease, replicas: i.replicas }, active: 'stable', inactive: 'canary' };
  if (i.strategy.type === 'blue-green') {
    const switched = phase.at === 'switched';
    return { ...base, canary: { image: i.image, release: i.release, replicas: i.replicas }, active: switched ? 'canary' : 'stable', inactive: switched ? 'stable' : 'canary', weights: switched ? { stable: 0, canary: 100 } : { stable: 100, canary: 0 } };
  }
  const percent = phase.at === 'weight' ? phase.percent : (i.strategy.steps[0] ?? 100);
  // By replica ratio: at least one canary pod, so a small percent still gets traffic.
  const canaryReplicas = Math.min(i.replicas, Math.max(1, Math.ceil((i.replicas * percent) / 100)));
  return { ...base, canary: { image: i.image, release: i.release, replicas: canaryReplicas }, weights: { stable: 100 - percent, canary: percent } };
}

/** The chart's templates, as objects with value placeholders, in apply order. */
export function chartObjects(i: ChartInput): K8sObject[] {
  return [...quota(i), serviceAccount(i), configMap(i), ...claims(i), ...workloads(i), ...services(i), ...ingress(i), ...httpRoute(i), ...autoscaler(i), disruptionBudget(i)] as K8sObject[];
}

/** The Secret a deploy creates beside the chart, its values replaced by `[redacted]` (absent when the app has no secrets). */
export function redactedSecret(i: ChartInput): K8sObject | undefined {
  return secretObject(i, Object.fromEntries(i.secretNames.map((s) => [s, REDACTED])));
}

export function secretObject(i: ChartInput, values: Record<string, string>): K8sObject | undefined {
  if (i.secretNames.length === 0) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...meta(i, names(i).secrets), annotations: { 'gantry.dev/source': 'the secret store of gantry, applied at deploy time (not in the chart)' } },
    type: 'Opaque',
    stringData: values,
  };
}

/** What the cluster gets for this release at `phase`: the chart's objects with values, the hook Jobs the phase runs, and the redacted Secret. */
export function renderedObjects(i: ChartInput, phase: Phase = { at: 'start' }): K8sObject[] {
  const secret = redactedSecret(i);
  const values = chartValues(i, phase);
  const hooks = (values.hooks ?? {}) as Record<string, boolean>;
  const jobs = hookJobs(i).filter((h) => hooks[h.hook]).map((h) => h.job as K8sObject);
  return [...(secret ? [secret] : []), ...resolveValues(chartObjects(i), values), ...jobs];
}
