/** The objects around the workload: ServiceAccount, ConfigMap, HPA, PDB, PVCs, and a tenant namespace's ResourceQuota and LimitRange. */
import { DEFAULTS } from '../../core/defaults.js';
import type { ChartInput } from './chart-input.js';
import { usesRollout } from './chart-input.js';
import { appLabels, claimName, meta, names } from './object-names.js';

type Obj = Record<string, unknown>;

export function serviceAccount(i: ChartInput): Obj {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(i, names(i).serviceAccount), automountServiceAccountToken: false };
}

/** The manifest's plain `env` (secrets go to a Secret, never here). */
export function configMap(i: ChartInput): Obj {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(i, names(i).env), data: { ...i.env } };
}

export function autoscaler(i: ChartInput): Obj[] {
  if (!i.autoscale) return [];
  const rollout = usesRollout(i);
  return [
    {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta(i, names(i).workload),
      spec: {
        scaleTargetRef: { apiVersion: rollout ? 'argoproj.io/v1alpha1' : 'apps/v1', kind: rollout ? 'Rollout' : 'Deployment', name: names(i).workload },
        minReplicas: i.autoscale.min,
        maxReplicas: i.autoscale.max,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: i.autoscale.cpuPercent } } }],
      },
    },
  ];
}

/** Voluntary disruptions (node drains) take at most as many pods at once as a rollout may. */
export function disruptionBudget(i: ChartInput): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(i, names(i).workload),
    spec: { maxUnavailable: Math.max(1, i.strategy.maxUnavailable), selector: { matchLabels: appLabels(i) } },
  };
}

/** One claim per `persist` path; kept across releases (helm keeps it when the chart keeps the name). */
export function claims(i: ChartInput): Obj[] {
  return i.persist.map((p) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { ...meta(i, claimName(i, p)), annotations: { 'helm.sh/resource-policy': 'keep', 'gantry.dev/persist': p } },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(i.config.storage.class ? { storageClassName: i.config.storage.class } : {}),
      resources: { requests: { storage: i.config.storage.size } },
    },
  }));
}

export function quota(i: ChartInput): Obj[] {
  const q = i.config.quota;
  if (!q) return [];
  const hard = {
    ...(q.cpu ? { 'requests.cpu': q.cpu } : {}),
    ...(q.memory ? { 'requests.memory': q.memory } : {}),
    ...(q.pods !== undefined ? { pods: String(q.pods) } : {}),
    ...(q.storage ? { 'requests.storage': q.storage } : {}),
  };
  const out: Obj[] = [];
  if (Object.keys(hard).length) out.push({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: meta(i, names(i).quota), spec: { hard } });
  // Under a CPU or memory quota every container must name its requests: the LimitRange gives defaults.
  const cpu = q.default_cpu ?? (q.cpu ? DEFAULTS.kubernetes.quotaDefaultCpu : undefined);
  const memory = q.default_memory ?? (q.memory ? DEFAULTS.kubernetes.quotaDefaultMemory : undefined);
  if (cpu || memory) {
    out.push({
      apiVersion: 'v1',
      kind: 'LimitRange',
      metadata: meta(i, names(i).limits),
      spec: { limits: [{ type: 'Container', defaultRequest: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) }, ...(memory ? { default: { memory } } : {}) }] },
    });
  }
  return out;
}
