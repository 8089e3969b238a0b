/** `gantry push`: publish a release's artifact to a registry. */
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { open } from './open.js';
import { currentRelease } from './releases.js';
import type { Artifact } from './target.js';

/** Publish a release's artifact (default: the current release) through the target, recorded as the deployment's registry_image. */
export async function push(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { registry?: string; release?: string; auth?: { username: string; password: string } }) {
  const o = await open(engine, loaded, targetName);
  try {
    if (!o.target.push) throw new GantryError('USAGE', `the ${o.target.type} target has nothing to push`, 'push works for targets that build images (docker)');
    const rel = opts.release ? engine.store.getRelease(o.app, o.name, opts.release) : currentRelease(engine, o);
    if (!rel || rel.deleted) throw new GantryError('RELEASE_NOT_FOUND', `release ${opts.release} is not kept`, 'see `gantry releases`');
    const r = await o.target.push({ release: rel.id, artifact: rel.artifact as Artifact, registry: opts.registry, auth: opts.auth }, o.ctx);
    const d = engine.store.listDeployments(o.app, o.name, 100).find((x) => x.release === rel.id && x.status === 'succeeded');
    if (d) engine.store.updateDeployment(d.id, { registryImage: r.reference });
    engine.store.audit(engine.opts.actor, 'push', o.app, o.name, { release: rel.id, reference: r.reference });
    return { app: o.app, target: o.name, release: rel.id, deployment: d?.id, registry_image: r.reference, digest: r.digest };
  } finally {
    await o.runtime.close();
  }
}
