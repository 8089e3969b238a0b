import type { TargetDescriptor } from '../../engine/target.js';
import { kubernetesConfigSchema, type KubernetesConfig } from './config.js';

/** What the kubernetes target is and can do; loaded without its implementation (and without the Kubernetes client). */
export const kubernetesDescriptor: TargetDescriptor<KubernetesConfig> = {
  type: 'kubernetes',
  summary: 'a Kubernetes cluster: a generated Helm chart (Deployment, Service, Ingress or HTTPRoute, HPA, PDB, PVCs, quota) applied with helm; traffic split and readiness judged by the cluster',
  configSchema: kubernetesConfigSchema,
  capabilities: { nodes: 'one', traffic: 'release', health: 'target', delivery: 'push', strategies: ['recreate', 'rolling', 'blue-green', 'canary'] },
};
