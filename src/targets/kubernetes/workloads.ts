/**
 * The app's workloads per strategy:
 * - recreate, rolling: one Deployment, whose own rollout is the strategy;
 * - blue-green, canary (engine: deployment): a stable and a canary Deployment;
 *   Gantry moves the canary's replicas (or HTTPRoute weights) and promotes by
 *   giving the stable track the new image;
 * - blue-green, canary (engine: argo-rollouts): one Rollout whose strategy runs
 *   the steps, with an AnalysisTemplate when `analysis.prometheus` is set.
 */
import type { ChartInput } from './chart-input.js';
import { seconds, twoTracks, usesRollout } from './chart-input.js';
import { meta, names, trackLabels, type Track } from './object-names.js';
import { podTemplate } from './pod-template.js';
import { valueRef } from './values-ref.js';

type Obj = Record<string, unknown>;

function deployment(i: ChartInput, name: string, track: Track, image: string, replicas: number | undefined, strategy: Obj): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(i, name, { 'gantry.dev/track': track }),
    spec: {
      ...(replicas !== undefined ? { replicas } : {}),
      revisionHistoryLimit: 5,
      selector: { matchLabels: trackLabels(i, track) },
      strategy,
      template: podTemplate(i, track, image),
    },
  };
}

const rollingUpdate = (i: ChartInput): Obj => ({ type: 'RollingUpdate', rollingUpdate: { maxSurge: i.strategy.maxSurge, maxUnavailable: i.strategy.maxUnavailable } });

/** Under an HPA the stable track's replicas are the autoscaler's, not the chart's. */
const stableReplicas = (i: ChartInput): number | undefined => (i.autoscale ? undefined : valueRef<number>('stable.replicas'));

export function workloads(i: ChartInput): Obj[] {
  const n = names(i);
  if (usesRollout(i)) return [rollout(i), ...(i.config.analysis ? [analysisTemplate(i)] : [])];
  if (twoTracks(i)) {
    return [deployment(i, n.workload, 'stable', valueRef('stable.image'), stableReplicas(i), rollingUpdate(i)), deployment(i, n.canary, 'canary', valueRef('canary.image'), valueRef<number>('canary.replicas'), rollingUpdate(i))];
  }
  const strategy = i.strategy.type === 'recreate' ? { type: 'Recreate' } : rollingUpdate(i);
  return [deployment(i, n.workload, 'stable', valueRef('stable.image'), stableReplicas(i), strategy)];
}

/** Argo Rollouts: canary steps (setWeight, pause) with background analysis, or blue-green with active and preview Services. */
function rollout(i: ChartInput): Obj {
  const n = names(i);
  const pause = (): Obj => (i.strategy.pause === 'manual' ? {} : { duration: `${seconds(i.strategy.pause)}s` });
  const strategy =
    i.strategy.type === 'canary'
      ? {
          canary: {
            stableService: n.stableService,
            canaryService: n.canaryService,
            maxSurge: i.strategy.maxSurge,
            maxUnavailable: i.strategy.maxUnavailable,
            ...(i.config.traffic === 'gateway-api' ? { trafficRouting: { plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: n.service, namespace: i.config.namespace } } } } : {}),
            ...(i.config.analysis ? { analysis: { templates: [{ templateName: n.analysis }], startingStep: 1 } } : {}),
            steps: i.strategy.steps.filter((p) => p < 100).flatMap((p) => [{ setWeight: p }, { pause: pause() }]),
          },
        }
      : {
          blueGreen: {
            activeService: n.service,
            previewService: n.preview,
            autoPromotionEnabled: i.strategy.pause !== 'manual',
            scaleDownDelaySeconds: seconds(i.strategy.keepPreviousMs, 0),
          },
        };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: meta(i, n.workload),
    spec: {
      ...(i.autoscale ? {} : { replicas: valueRef<number>('stable.replicas') }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: trackLabels(i, 'stable') },
      template: podTemplate(i, 'stable', valueRef('stable.image')),
      strategy,
    },
  };
}

/** Flagger-style analysis: the Prometheus query must stay at or under `max`; one failure rolls the canary back. */
function analysisTemplate(i: ChartInput): Obj {
  const p = i.config.analysis!.prometheus;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: meta(i, names(i).analysis),
    spec: {
      metrics: [
        {
          name: 'prometheus',
          interval: `${seconds(p.interval)}s`,
          failureLimit: 0,
          successCondition: `result[0] <= ${p.max}`,
          provider: { prometheus: { address: p.address, query: p.query.replaceAll('{{release}}', i.release) } },
        },
      ],
    },
  };
}
