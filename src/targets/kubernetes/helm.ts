/**
 * helm's command lines and their runs. Arguments are arrays (nothing reaches a
 * shell) and never carry a secret: values come from files, the Secret is
 * applied through the API.
 */
import { execFile } from 'node:child_process';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { seconds } from './chart-input.js';
import type { Tool } from './tools.js';

export interface ClusterArgs {
  kubeconfigPath?: string;
  context?: string;
  namespace: string;
}

export function clusterArgs(c: ClusterArgs): string[] {
  return [...(c.kubeconfigPath ? ['--kubeconfig', c.kubeconfigPath] : []), ...(c.context ? ['--kube-context', c.context] : []), '--namespace', c.namespace];
}

const major = (helm: Tool): number => Number(/^v(\d+)/.exec(helm.version)?.[1] ?? 3);

/**
 * `helm upgrade --install`, waiting for readiness and rolled back by helm when it fails
 * (helm 3: --atomic --wait; helm 4 renamed them --rollback-on-failure --wait=watcher).
 */
export function upgradeArgv(helm: Tool, o: ClusterArgs & { release: string; chartDir: string; valuesFile: string; timeoutMs: number }): string[] {
  const safety = major(helm) >= 4 ? ['--rollback-on-failure', '--wait=watcher'] : ['--atomic', '--wait'];
  return ['upgrade', '--install', o.release, o.chartDir, ...clusterArgs(o), '--create-namespace', '--values', o.valuesFile, ...safety, '--timeout', `${seconds(o.timeoutMs)}s`];
}

export function rollbackArgv(helm: Tool, o: ClusterArgs & { release: string; revision?: number; timeoutMs: number }): string[] {
  const wait = major(helm) >= 4 ? ['--wait=watcher'] : ['--wait'];
  return ['rollback', o.release, ...(o.revision !== undefined ? [String(o.revision)] : []), ...clusterArgs(o), ...wait, '--timeout', `${seconds(o.timeoutMs)}s`];
}

export const historyArgv = (o: ClusterArgs & { release: string }): string[] => ['history', o.release, ...clusterArgs(o), '--output', 'json'];
export const uninstallArgv = (o: ClusterArgs & { release: string }): string[] => ['uninstall', o.release, ...clusterArgs(o)];
export const lintArgv = (chartDir: string): string[] => ['lint', '--strict', chartDir];
export const templateArgv = (release: string, chartDir: string, namespace: string): string[] => ['template', release, chartDir, '--namespace', namespace];

/** Runs helm; its output, or a HELM_FAILED error carrying helm's own message. */
export function runHelm(helm: Tool, argv: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(helm.path, argv, { timeout: opts.timeoutMs ?? DEFAULTS.kubernetes.toolTimeoutMs, maxBuffer: 64 << 20, signal: opts.signal }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const said = (stderr || stdout || err.message).trim().split('\n').slice(-5).join('\n');
      reject(new GantryError('HELM_FAILED', `helm ${argv[0]} failed: ${said}`, 'the lines above are helm\'s own; `gantry status` shows the pods and their events'));
    });
  });
}
