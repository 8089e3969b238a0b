/**
 * One helm upgrade of a release at a phase of its rollout: the Secret first
 * (through the API, from memory), then `helm upgrade --install` with the
 * phase's values from a private temporary file. Nothing secret is in argv.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { releaseDir } from './release-files.js';
import type { ChartInput } from './chart-input.js';
import { applySecret, type Cluster } from './cluster.js';
import { runHelm, upgradeArgv } from './helm.js';
import type { KubeconfigFile } from './kubeconfig.js';
import { chartValues, secretObject, type Phase } from './render.js';
import type { Tool } from './tools.js';

export interface ApplyContext {
  helm: Tool;
  cluster: Cluster;
  kubeconfig: KubeconfigFile;
  stateDir: string;
  targetName: string;
}

export async function applyRelease(a: ApplyContext, input: ChartInput, phase: Phase, secretEnv: Record<string, string>, signal?: AbortSignal): Promise<void> {
  const secret = secretObject(input, Object.fromEntries(input.secretNames.map((n) => [n, secretEnv[n] ?? ''])));
  if (secret) await applySecret(a.cluster, secret);
  const tmp = mkdtempSync(join(tmpdir(), 'gantry-values-'));
  try {
    const valuesFile = join(tmp, 'values.yaml');
    writeFileSync(valuesFile, stringify(chartValues(input, phase)), { mode: 0o600 });
    const argv = upgradeArgv(a.helm, { release: input.name, chartDir: join(releaseDir(a.stateDir, a.targetName, input.release), 'chart'), valuesFile, timeoutMs: input.config.timeout, kubeconfigPath: a.kubeconfig.path, context: a.kubeconfig.context, namespace: input.config.namespace });
    await runHelm(a.helm, argv, { timeoutMs: input.config.timeout + 60_000, signal });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
