/**
 * The cluster's kubeconfig as the target's tools need it: text for the
 * Kubernetes client, a file for helm. Base64 content is written to a private
 * temporary file (0600, in a 0700 directory) for the length of one command
 * and removed after, never kept in Gantry's state.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { GantryError } from '../../core/errors.js';
import type { KubernetesConfig } from './config.js';
import { decodeBase64, summarizeKubeconfig, type KubeconfigSummary } from './kubeconfig-text.js';

export interface KubeconfigFile {
  /** Path helm and kubectl are given. */
  path: string;
  text: string;
  summary: KubeconfigSummary;
  /** The context to use (the configured one, or the kubeconfig's current-context). */
  context: string;
  server: string;
  /** Removes the temporary file of base64 content (a no-op for a user's file). */
  dispose(): void;
}

/** The file the config points at: `kubeconfig`, else $KUBECONFIG (its first entry), else ~/.kube/config. */
export function kubeconfigPath(cfg: KubernetesConfig, appDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const src = cfg.kubeconfig;
  if (src && 'base64' in src) return undefined;
  const raw = src?.path ?? env.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
  const expanded = raw.startsWith('~/') ? join(homedir(), raw.slice(2)) : raw;
  return isAbsolute(expanded) ? expanded : resolve(appDir, expanded);
}

/** Reads and checks the kubeconfig; a KUBECONFIG_INVALID error names what is wrong with it. */
export function openKubeconfig(cfg: KubernetesConfig, appDir: string): KubeconfigFile {
  const src = cfg.kubeconfig;
  let text: string;
  let path: string;
  let dispose = () => undefined as void;
  if (src && 'base64' in src) {
    const decoded = decodeBase64(src.base64);
    if (decoded === undefined) throw new GantryError('KUBECONFIG_INVALID', 'kubeconfig.base64 is not base64', 'encode the file with `base64 -w0 ~/.kube/config`');
    text = decoded;
    const dir = mkdtempSync(join(tmpdir(), 'gantry-kubeconfig-'));
    path = join(dir, 'config');
    writeFileSync(path, text, { mode: 0o600 });
    dispose = () => rmSync(dir, { recursive: true, force: true });
  } else {
    path = kubeconfigPath(cfg, appDir)!;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new GantryError('KUBECONFIG_INVALID', `the kubeconfig ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'set `kubeconfig` under the target to your cluster\'s kubeconfig file (or { base64: ... }), or $KUBECONFIG');
    }
  }
  const summary = summarizeKubeconfig(text, cfg.context);
  if (typeof summary === 'string') {
    dispose();
    throw new GantryError('KUBECONFIG_INVALID', `the kubeconfig ${src && 'base64' in src ? 'in kubeconfig.base64' : path} does not parse: ${summary}`, 'check it with `kubectl --kubeconfig FILE config view`; a kind or k3s cluster writes a working one (see the README)');
  }
  const context = cfg.context ?? summary.currentContext!;
  return { path, text, summary, context, server: summary.servers[context]!, dispose };
}
