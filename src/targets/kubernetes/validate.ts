/**
 * The kubernetes target's checks of a manifest, before anything is applied:
 * the kubeconfig parses and names the context, the image can be named, object
 * names fit Kubernetes' limits. A cluster that does not answer is a warning
 * (a fact about this machine now); deploy fails on it at once with the same hint.
 */
import { existsSync } from 'node:fs';
import type { TargetProblem, ValidateContext } from '../../engine/target.js';
import type { KubernetesConfig } from './config.js';
import { kubeconfigPath, openKubeconfig } from './kubeconfig.js';

/** Helm's limit on release names; the longest object name adds "-preview" to it. */
const MAX_NAME = 53;

export function validateKubernetes(cfg: KubernetesConfig, ctx: ValidateContext): TargetProblem[] {
  const problems: TargetProblem[] = [];
  const name = cfg.release_name ?? ctx.app;
  if (name.length > MAX_NAME) problems.push({ path: ['release_name'], message: `the helm release name "${name}" is longer than ${MAX_NAME} characters`, hint: `set release_name to a shorter DNS-1123 name (at most ${MAX_NAME})` });
  if (!cfg.image) {
    problems.push({ path: ['image'], message: `the kubernetes target "${ctx.targetName}" does not know which image the cluster runs`, hint: 'set image: REGISTRY/NAME:TAG (built and pushed with a docker target and `gantry push`; `${VAR}` interpolation gives it a tag per build)' });
  }
  const explicit = cfg.kubeconfig !== undefined;
  const path = kubeconfigPath(cfg, ctx.appDir);
  if (!explicit && path && !existsSync(path)) {
    problems.push({ path: ['kubeconfig'], level: 'warning', message: `no kubeconfig: ${path} does not exist`, hint: 'set kubeconfig under the target (a file, or { base64: ... }), or $KUBECONFIG' });
  } else {
    try {
      openKubeconfig(cfg, ctx.appDir).dispose();
    } catch (err) {
      problems.push({ path: explicit ? ['kubeconfig'] : cfg.context ? ['context'] : ['kubeconfig'], message: (err as Error).message, hint: (err as { hint?: string }).hint ?? 'check the kubeconfig' });
    }
  }
  if (ctx.persist.length > 0 && (cfg.replicas ?? 1) > 1) {
    problems.push({ path: ['replicas'], level: 'warning', message: `persist paths are ReadWriteOnce volumes: ${cfg.replicas} pods can share one only on the same node`, hint: 'use replicas: 1 with persist, or a storage class that supports ReadWriteMany' });
  }
  return problems;
}
