/**
 * A Kubernetes cluster: each release is a generated Helm chart (written to
 * `.gantry/charts/<app>/`, checked against the Kubernetes schemas) applied
 * with helm; status, logs, stop/start and restart through the Kubernetes API.
 */
import { GantryError } from '../../core/errors.js';
import type { Artifact, BuildInput, DoctorCheck, DoctorContext, Target, TargetContext, TargetProblem, ValidateContext } from '../../engine/target.js';
import { chartInput, type ChartInput } from './chart-input.js';
import { chartDir } from './chart-files.js';
import type { KubernetesConfig } from './config.js';
import { kubernetesDescriptor } from './descriptor.js';
import { kubernetesDoctor } from './doctor.js';
import { lintArgv, runHelm } from './helm.js';
import { keepRelease, readReleaseInput, removeRelease } from './release-files.js';
import { chartValues, renderedObjects } from './render.js';
import { KubernetesRuntime } from './runtime.js';
import { requireValidObjects } from './schema-check.js';
import { findTool } from './tools.js';
import { validateKubernetes } from './validate.js';

/**
 * The image the cluster pulls: `image`, prefixed with `registry` when it names no registry or namespace.
 * (The image is built and pushed by the docker target: a target may not import another's code.)
 */
export function imageOf(cfg: KubernetesConfig): string {
  if (!cfg.image) throw new GantryError('USAGE', 'the kubernetes target has no image to run', 'set image: REGISTRY/NAME:TAG under the target (build and push it with a docker target and `gantry push`)');
  return cfg.registry && !cfg.image.includes('/') ? `${cfg.registry.replace(/\/+$/, '')}/${cfg.image}` : cfg.image;
}

function inputFor(input: BuildInput, ctx: TargetContext<KubernetesConfig>): ChartInput {
  if (!input.manifest) throw new GantryError('INTERNAL', 'the kubernetes target renders its chart from the manifest, which the engine did not hand over');
  const serving = (ctx.settings.kubernetes as { stable?: string } | undefined)?.stable;
  let stable: { image: string; release: string } | undefined;
  try {
    stable = serving ? { image: readReleaseInput(ctx.stateDir, ctx.targetName, serving).image, release: serving } : undefined;
  } catch {
    stable = undefined;
  }
  return chartInput({ app: ctx.app, release: input.releaseId, config: ctx.config, manifest: input.manifest, image: imageOf(ctx.config), stable });
}

export const kubernetesTarget: Target<KubernetesConfig> = {
  ...kubernetesDescriptor,

  async validate(cfg: KubernetesConfig, ctx: ValidateContext): Promise<TargetProblem[]> {
    return validateKubernetes(cfg, ctx);
  },

  async doctor(ctx: DoctorContext<KubernetesConfig>): Promise<DoctorCheck[]> {
    return kubernetesDoctor(ctx);
  },

  /** The release's chart: rendered, schema-checked, written, and linted by helm when helm is here. */
  async build(input: BuildInput, ctx: TargetContext<KubernetesConfig>): Promise<Artifact> {
    const ci = inputFor(input, ctx);
    await requireValidObjects(renderedObjects(ci));
    const dir = keepRelease(ctx.stateDir, ctx.targetName, ci);
    const helm = await findTool('helm');
    if (helm) await runHelm(helm, lintArgv(dir));
    ctx.emit('info', `chart ${ci.name} for release ${ci.release} written to ${chartDir(ctx.stateDir, ctx.app)} (image ${ci.image})`);
    // The helm release is the deployment's external id.
    return { kind: 'helm-chart', ref: ci.name, chart: dir, image: ci.image, namespace: ci.config.namespace };
  },

  /** For `gantry plan`: the chart's place and every object the cluster would get, the Secret's values redacted. */
  describeBuild(input: BuildInput, ctx: TargetContext<KubernetesConfig>) {
    const ci = inputFor(input, ctx);
    return { chart: chartDir(ctx.stateDir, ctx.app), helm_release: ci.name, namespace: ci.config.namespace, image: ci.image, values: chartValues(ci), objects: renderedObjects(ci) };
  },

  async removeArtifact(artifact: Artifact, ctx: TargetContext<KubernetesConfig>): Promise<void> {
    const release = /[^/]+(?=\/chart$)/.exec(String(artifact.chart ?? ''))?.[0];
    if (release) removeRelease(ctx.stateDir, ctx.targetName, release);
  },

  async runtime(ctx: TargetContext<KubernetesConfig>) {
    return new KubernetesRuntime(ctx);
  },
};
