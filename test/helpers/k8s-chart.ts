/** Manifests for the kubernetes target's chart tests: loaded through the real manifest loader, so schema defaults apply. */
import { join } from 'node:path';
import { validateManifestSource } from '../../src/manifest/load.js';
import { chartInput, type ChartInput } from '../../src/targets/kubernetes/chart-input.js';
import { kubernetesConfigSchema } from '../../src/targets/kubernetes/config.js';

export const K8S_OPTS = { knownTargetTypes: ['kubernetes'], targetSchemas: (t: string) => (t === 'kubernetes' ? kubernetesConfigSchema : undefined) };

/** `top` is YAML of top-level manifest sections; `target` the YAML lines under the target (indented 4). */
export function manifestSource(top: string, target: string): string {
  return `app: web\n${top}\ntargets:\n  k8s:\n    type: kubernetes\n${target}\n`;
}

export function loadInput(top: string, target: string, opts: { release?: string; image?: string; stableImage?: string } = {}): ChartInput {
  const release = opts.release ?? '20261201T120000000Z-abcdef0123';
  const r = validateManifestSource(manifestSource(top, target), join('/tmp', 'gantry.yaml'), K8S_OPTS);
  if (!r.valid || !r.manifest) throw new Error(`invalid test manifest: ${r.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  const { type: _t, ...cfg } = r.manifest.manifest.targets.k8s as Record<string, unknown>;
  const { targets: _x, environments: _e, ...m } = r.manifest.manifest as unknown as Record<string, unknown>;
  // A different stable image stands for the release serving before this one.
  const stable = opts.stableImage ? { image: opts.stableImage, release: '20261130T120000000Z-0123456789' } : undefined;
  return chartInput({ app: 'web', release, config: kubernetesConfigSchema.parse(cfg), manifest: m as never, image: opts.image ?? 'registry.example.com/team/web:2', stable });
}
