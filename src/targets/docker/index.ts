import { GantryError } from '../../core/errors.js';
import type { Artifact, BuildInput, DoctorCheck, DoctorContext, PushInput, Target, TargetContext, TargetProblem, ValidateContext } from '../../engine/target.js';
import { buildImage, resolveDockerfile } from './build.js';
import { buildChecks } from './build-doctor.js';
import { type DockerConfig } from './config.js';
import { dockerClient, engineLabel, engineMessage, requireEngine } from './engine-client.js';
import { dockerDescriptor } from './descriptor.js';
import { pushImage } from './push.js';
import { DockerRuntime } from './runtime.js';
import { imageRef, imageRepo, volumeName } from './names.js';
import { validateDocker } from './validate.js';
import { destroyDocker } from './destroy.js';

/** Containers on a Docker engine (dockerode, DOCKER_HOST honoured), behind Gantry's proxy; images pushed to a registry. */
export const dockerTarget: Target<DockerConfig> = {
  ...dockerDescriptor,

  async validate(cfg: DockerConfig, ctx: ValidateContext): Promise<TargetProblem[]> {
    return validateDocker(cfg, ctx);
  },

  async doctor(dctx: DoctorContext<DockerConfig>): Promise<DoctorCheck[]> {
    try {
      const docker = dockerClient(dctx.target?.config.docker_host);
      const v = await requireEngine(docker, dctx.target?.config.docker_host);
      // With the manifest at hand: would its build work here (pip in the base image, the registry from a container)?
      const builds = dctx.target ? await buildChecks(docker, dctx.target) : [];
      return [{ name: 'docker: engine', ok: true, detail: `Docker ${v.version} (API ${v.apiVersion}) at ${engineLabel()}` }, ...builds];
    } catch (err) {
      return [{ name: 'docker: engine', ok: false, detail: (err as Error).message, hint: (err as GantryError).hint }];
    }
  },

  async build(input: BuildInput, ctx: TargetContext<DockerConfig>): Promise<Artifact> {
    const docker = dockerClient(ctx.config.docker_host);
    await requireEngine(docker, ctx.config.docker_host);
    const r = await buildImage(docker, { app: ctx.app, target: ctx.targetName, release: input.releaseId, sourceDir: input.sourceDir, stateDir: ctx.stateDir, dockerfile: input.build?.dockerfile, context: input.build?.context, buildCommand: input.build?.command, runCommand: input.run?.command, port: input.run?.port ?? 3000, commit: input.source?.commit }, ctx.emit);
    return { kind: 'image', ref: r.imageId, tag: r.tag, generatedDockerfile: r.generatedDockerfile };
  },

  async reuseArtifact(previous: Artifact, input: BuildInput, ctx: TargetContext<DockerConfig>): Promise<Artifact> {
    // The same image under the new release's tag: retention removing the old tag leaves this one.
    const docker = dockerClient(ctx.config.docker_host);
    await requireEngine(docker, ctx.config.docker_host);
    const image = docker.getImage(String(previous.ref));
    const id = (await image.inspect()).Id;
    await image.tag({ repo: imageRepo(ctx.app), tag: input.releaseId });
    return { ...previous, kind: 'image', ref: id, tag: imageRef(ctx.app, input.releaseId), reusedFrom: previous.tag };
  },

  describeBuild(input: BuildInput, ctx: TargetContext<DockerConfig>) {
    const df = resolveDockerfile({ app: ctx.app, target: ctx.targetName, release: input.releaseId, sourceDir: input.sourceDir, stateDir: ctx.stateDir, dockerfile: input.build?.dockerfile, context: input.build?.context, buildCommand: input.build?.command, runCommand: input.run?.command, port: input.run?.port ?? 3000 });
    return { dockerfile: df.generated ? '(generated)' : df.dockerfile, generatedDockerfile: df.generated, context: df.contextDir };
  },

  async removeArtifact(artifact: Artifact, ctx: TargetContext<DockerConfig>): Promise<void> {
    const docker = dockerClient(ctx.config.docker_host);
    await docker
      .getImage(String(artifact.tag ?? artifact.ref))
      .remove({ noprune: false })
      .catch((err: unknown) => {
        if ((err as { statusCode?: number }).statusCode !== 404) throw new GantryError('INTERNAL', `could not remove image ${String(artifact.tag)}: ${engineMessage(err)}`);
      });
  },

  async push(input: PushInput, ctx: TargetContext<DockerConfig>) {
    const registry = input.registry ?? ctx.config.registry;
    if (!registry) throw new GantryError('USAGE', 'no registry given', 'pass --registry HOST/NAMESPACE (e.g. 127.0.0.1:5000/team) or set `registry` under the docker target');
    const docker = dockerClient(ctx.config.docker_host);
    await requireEngine(docker, ctx.config.docker_host);
    return pushImage(docker, { image: String(input.artifact.tag ?? input.artifact.ref), registry, app: ctx.app, release: input.release, auth: input.auth, emit: ctx.emit });
  },

  async dataDirs(ctx: TargetContext<DockerConfig>, persist: string[]) {
    // Local-driver volumes live on this host; their mountpoints are what a backup holds. Images stay in the engine.
    const docker = dockerClient(ctx.config.docker_host);
    const out: Array<{ name: string; dir: string; kind: 'data' }> = [];
    for (const p of persist) {
      const name = volumeName(ctx.app, ctx.targetName, p);
      const vol = (await docker.createVolume({ Name: name, Labels: { 'dev.gantry.app': ctx.app, 'dev.gantry.target': ctx.targetName } })) as unknown as { Mountpoint?: string; name?: string };
      const info = await docker.getVolume(name).inspect();
      out.push({ name: `volume-${p.replace(/[^a-zA-Z0-9_.-]/g, '_')}`, dir: info.Mountpoint ?? vol.Mountpoint!, kind: 'data' });
    }
    return out;
  },

  async destroy(ctx: TargetContext<DockerConfig>, opts: { keepData: boolean; persist: string[] }): Promise<string[]> {
    return destroyDocker(dockerClient(ctx.config.docker_host), ctx, opts);
  },

  async runtime(ctx: TargetContext<DockerConfig>) {
    const docker = dockerClient(ctx.config.docker_host);
    return new DockerRuntime(ctx, docker);
  },
};
