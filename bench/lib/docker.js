// The Docker engine, for the docker section: whether it can be used, a container
// started directly from an image (the baseline), and removal of everything a
// bench app left on the engine (by its dev.gantry.app label).
import Docker from 'dockerode';
import { checkAborted, onCleanup } from './cleanup.js';
import { now, sleep } from './timing.js';
import { healthy } from './app.js';

/** dockerode against DOCKER_HOST or the default socket, as Gantry's docker target. */
export function dockerClient() {
  return new Docker();
}

const BASE_IMAGE = 'node:20-bookworm-slim';

/** Why the engine cannot be used here (a sentence), or undefined when it can. */
export async function dockerProblem(docker) {
  try {
    await withTimeout(docker.version(), 10_000, 'docker version');
  } catch (err) {
    return `no Docker engine (${err.message})`;
  }
  try {
    await withTimeout(docker.getImage(BASE_IMAGE).inspect(), 10_000, `inspect ${BASE_IMAGE}`);
  } catch (err) {
    return `base image ${BASE_IMAGE} missing (${err.message}); scripts/test-infra.sh builds it (the bench never pulls)`;
  }
  return undefined;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}


/**
 * The baseline: create and start a container straight from `image` (PORT=3000,
 * HOST=0.0.0.0, 3000/tcp published on 127.0.0.1:hostPort), poll /health every
 * pollMs until it answers, then remove it (force). Resolves
 * { ready_ms, create_ms, start_ms, health_wait_ms, polls, remove_ms }; ready_ms
 * (create through the first healthy answer) is the figure; removal is not in it.
 */
export async function containerSample(docker, { image, app, hostPort, pollMs = 10, timeoutMs = 30_000 }) {
  checkAborted();
  const t0 = now();
  const container = await docker.createContainer({
    Image: image,
    Env: ['PORT=3000', 'HOST=0.0.0.0'],
    // The image's labels are inherited; these keep the container out of Gantry's own filters (role=app, target).
    Labels: { 'dev.gantry.app': app, 'dev.gantry.role': 'bench-baseline', 'dev.gantry.target': 'bench-baseline' },
    ExposedPorts: { '3000/tcp': {} },
    HostConfig: { PortBindings: { '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] } },
  });
  const remove = onCleanup(`baseline container ${container.id.slice(0, 12)}`, () => container.remove({ force: true }).catch(() => undefined));
  try {
    const t1 = now();
    await container.start();
    const t2 = now();
    let polls = 0;
    for (;;) {
      polls++;
      if (await healthy(hostPort)) break;
      if (now() - t0 > timeoutMs) throw new Error(`baseline container from ${image} not healthy on 127.0.0.1:${hostPort} after ${timeoutMs} ms`);
      await sleep(pollMs);
    }
    const t3 = now();
    const r = { ready_ms: t3 - t0, create_ms: t1 - t0, start_ms: t2 - t1, health_wait_ms: t3 - t2, polls };
    await remove();
    r.remove_ms = now() - t3;
    return r;
  } finally {
    await remove();
  }
}

/**
 * Remove every container, image and volume labelled dev.gantry.app=<app>
 * (what Gantry and the baseline created for this bench app). Resolves the counts.
 */
export async function removeAppResources(docker, app) {
  const filters = { label: [`dev.gantry.app=${app}`] };
  const out = { containers: 0, images: 0, volumes: 0 };
  for (const c of await docker.listContainers({ all: true, filters }).catch(() => [])) {
    await docker.getContainer(c.Id).remove({ force: true, v: true }).then(() => out.containers++, () => undefined);
  }
  const images = [...new Set((await docker.listImages({ filters }).catch(() => [])).map((i) => i.Id))];
  for (const id of images) await docker.getImage(id).remove({ force: true }).then(() => out.images++, () => undefined);
  const vols = (await docker.listVolumes({ filters }).catch(() => ({ Volumes: [] }))).Volumes ?? [];
  for (const v of vols) await docker.getVolume(v.Name).remove({ force: true }).then(() => out.volumes++, () => undefined);
  return out;
}
