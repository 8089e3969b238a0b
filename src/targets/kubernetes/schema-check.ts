/**
 * Every rendered object checked against the Kubernetes API schemas
 * (kubernetes-models, Gateway API and Argo Rollouts models) before a chart is
 * written or applied: a mistake is named here, not by the API server mid-upgrade.
 */
import { GantryError } from '../../core/errors.js';
import type { K8sObject } from './render.js';

interface Model {
  validate(): void;
}
type ModelClass = new (data: never) => Model;

async function models(): Promise<Record<string, ModelClass>> {
  const [core, apps, batch, autoscaling, networking, policy, gateway, argo] = await Promise.all([
    import('kubernetes-models/v1'),
    import('kubernetes-models/apps/v1'),
    import('kubernetes-models/batch/v1'),
    import('kubernetes-models/autoscaling/v2'),
    import('kubernetes-models/networking.k8s.io/v1'),
    import('kubernetes-models/policy/v1'),
    import('@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1'),
    import('@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1'),
  ]);
  return {
    'v1/Service': core.Service,
    'v1/ConfigMap': core.ConfigMap,
    'v1/Secret': core.Secret,
    'v1/ServiceAccount': core.ServiceAccount,
    'v1/PersistentVolumeClaim': core.PersistentVolumeClaim,
    'v1/ResourceQuota': core.ResourceQuota,
    'v1/LimitRange': core.LimitRange,
    'apps/v1/Deployment': apps.Deployment,
    'batch/v1/Job': batch.Job,
    'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler,
    'networking.k8s.io/v1/Ingress': networking.Ingress,
    'policy/v1/PodDisruptionBudget': policy.PodDisruptionBudget,
    'gateway.networking.k8s.io/v1/HTTPRoute': gateway.HTTPRoute,
    'argoproj.io/v1alpha1/Rollout': argo.Rollout,
    'argoproj.io/v1alpha1/AnalysisTemplate': argo.AnalysisTemplate,
  } as unknown as Record<string, ModelClass>;
}

/** The problems of each object ("Deployment/web: ..."); empty when all validate. */
export async function schemaProblems(objects: K8sObject[]): Promise<string[]> {
  const byKind = await models();
  const out: string[] = [];
  for (const obj of objects) {
    const id = `${obj.kind}/${obj.metadata.name}`;
    const Model = byKind[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) {
      out.push(`${id}: no schema known for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    try {
      new Model(obj as never).validate();
    } catch (err) {
      out.push(`${id}: ${(err as Error).message}`);
    }
  }
  return out;
}

export async function requireValidObjects(objects: K8sObject[]): Promise<void> {
  const problems = await schemaProblems(objects);
  if (problems.length) throw new GantryError('INTERNAL', `the generated chart has objects the Kubernetes schemas reject:\n  ${problems.join('\n  ')}`, 'this is a bug of Gantry\'s kubernetes target; report it with the manifest');
}
