import Docker from 'dockerode';
import { afterAll } from 'vitest';
import { gantry, killAgents } from './cli.js';

export const docker = new Docker({ socketPath: process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock' });

/** Why the real Docker engine cannot be used here, or undefined when it can. Tests name this reason when they skip. */
export const engineProblem: string | undefined = await docker.version().then(
  () => undefined,
  (e: Error) => `no Docker engine (${e.message}); scripts/test-infra.sh starts one as root`,
);

export const REGISTRY = '127.0.0.1:5000';
export const registryProblem: string | undefined = engineProblem ?? (await fetch(`http://${REGISTRY}/v2/`).then((r) => (r.ok ? undefined : `registry answered ${r.status}`), (e: Error) => `no registry on ${REGISTRY} (${e.message})`));

export const baseImageProblem: string | undefined =
  engineProblem ??
  (await docker
    .getImage('node:20-bookworm-slim')
    .inspect()
    .then(() => docker.getImage('python:3.11-slim').inspect())
    .then(
      () => undefined,
      () => 'base images node:20-bookworm-slim / python:3.11-slim missing; scripts/build-base-images.sh builds them',
    ));

/** Remove what a test app left on the engine: containers and images labelled with its name. */
export async function cleanupApp(app: string): Promise<void> {
  for (const c of await docker.listContainers({ all: true, filters: { label: [`dev.gantry.app=${app}`] } })) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  for (const i of await docker.listImages({ filters: { label: [`dev.gantry.app=${app}`] } })) await docker.getImage(i.Id).remove({ force: true }).catch(() => undefined);
}

/** Remove the named volumes the docker target made for an app's persistent paths (gantry-<app>-<target>-<path>). */
export async function removeAppVolumes(app: string): Promise<void> {
  for (const v of (await docker.listVolumes()).Volumes ?? []) if (v.Name.startsWith(`gantry-${app}-`)) await docker.getVolume(v.Name).remove().catch(() => undefined);
}

/** An app a test deployed on the process or the docker target, to stop and clean up after the file. */
export interface TrackedApp {
  dir: string;
  app: string;
  docker: boolean;
}

/**
 * The list a test file pushes each app it deploys to: after all its tests each is stopped, its
 * agents are ended and, on docker, its containers, images and volumes removed.
 */
export function appsCleanedAfterAll(): TrackedApp[] {
  const apps: TrackedApp[] = [];
  afterAll(async () => {
    for (const a of apps) {
      await gantry(['stop', '--json'], { cwd: a.dir }).catch(() => undefined);
      killAgents(a.dir);
      if (a.docker && !baseImageProblem) await cleanupApp(a.app);
    }
  });
  return apps;
}
