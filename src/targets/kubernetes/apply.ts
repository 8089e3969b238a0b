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
import type { Cluster } from './cluster.js';
import { historyArgv, rollbackArgv, runHelm, upgradeArgv } from './helm.js';
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

/**
 * The release's Secret from the values the engine handed over (starting an instance). A traffic
 * change hands over none: the Secret stays as the start of the release wrote it.
 * (One Secret per app: during a canary both tracks read the newest values.)
 */
export async function writeSecret(a: Pick<ApplyContext, 'cluster'>, input: ChartInput, secretEnv: Record<string, string>): Promise<void> {
  if (Object.keys(secretEnv).length === 0) return;
  const secret = secretObject(input, Object.fromEntries(input.secretNames.map((n) => [n, secretEnv[n] ?? ''])));
  if (secret) await a.cluster.applySecret(secret);
}

/** `hooks: false`: the upgrade runs no hook Job (a release applied again, going back to it). */
export async function applyRelease(a: ApplyContext, input: ChartInput, phase: Phase, secretEnv: Record<string, string>, opts: { hooks?: boolean; signal?: AbortSignal } = {}): Promise<void> {
  await writeSecret(a, input, secretEnv);
  const values = chartValues(input, phase);
  if (values.hooks && opts.hooks === false) values.hooks = { pre_deploy: false, post_deploy: false };
  const tmp = mkdtempSync(join(tmpdir(), 'gantry-values-'));
  try {
    const valuesFile = join(tmp, 'values.yaml');
    writeFileSync(valuesFile, stringify(values), { mode: 0o600 });
    const argv = upgradeArgv(a.helm, { release: input.name, chartDir: join(releaseDir(a.stateDir, a.targetName, input.release), 'chart'), valuesFile, timeoutMs: input.config.timeout, kubeconfigPath: a.kubeconfig.path, context: a.kubeconfig.context, namespace: input.config.namespace });
    await runHelm(a.helm, argv, { timeoutMs: input.config.timeout + 60_000, signal: opts.signal });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The helm revision that is deployed now (after an upgrade: the one that holds this release). */
export async function deployedRevision(a: ApplyContext, input: ChartInput): Promise<number | undefined> {
  const out = await runHelm(a.helm, historyArgv({ release: input.name, kubeconfigPath: a.kubeconfig.path, context: a.kubeconfig.context, namespace: input.config.namespace }));
  const revisions = (JSON.parse(out) as Array<{ revision: number; status: string }>).filter((r) => r.status === 'deployed');
  return revisions.length ? Math.max(...revisions.map((r) => r.revision)) : undefined;
}

/** Back to the helm revision that held a release (its chart and values), its Secret applied first. */
export async function rollbackTo(a: ApplyContext, input: ChartInput, revision: number, secretEnv: Record<string, string>): Promise<void> {
  await writeSecret(a, input, secretEnv);
  const argv = rollbackArgv(a.helm, { release: input.name, revision, timeoutMs: input.config.timeout, kubeconfigPath: a.kubeconfig.path, context: a.kubeconfig.context, namespace: input.config.namespace });
  await runHelm(a.helm, argv, { timeoutMs: input.config.timeout + 60_000 });
}
