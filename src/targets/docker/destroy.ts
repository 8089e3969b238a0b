/**
 * `gantry destroy` on docker, after the runtime's shutdown and each release's removeArtifact:
 * whatever still carries the app+target labels (task and exec containers, images of pruned or
 * failed releases, the `current-<target>` tag), the persistent volumes unless data is kept, and
 * the agent's directory.
 */
import type Docker from 'dockerode';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { GantryError } from '../../core/errors.js';
import type { TargetContext } from '../../engine/target.js';
import type { DockerConfig } from './config.js';
import { engineMessage } from './engine-client.js';
import { LABEL, volumeName } from './names.js';
import { processPathsForAgent } from './paths.js';

const missing = (err: unknown): boolean => (err as { statusCode?: number }).statusCode === 404;

export async function destroyDocker(docker: Docker, ctx: TargetContext<DockerConfig>, opts: { keepData: boolean; persist: string[] }): Promise<string[]> {
  const labels = { label: [`${LABEL.app}=${ctx.app}`, `${LABEL.target}=${ctx.targetName}`] };
  const removed: string[] = [];
  const problems: string[] = [];
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      removed.push(what);
    } catch (err) {
      if (!missing(err)) problems.push(`${what}: ${engineMessage(err)}`);
    }
  };
  for (const c of await docker.listContainers({ all: true, filters: labels })) await attempt(`container ${c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12)}`, () => docker.getContainer(c.Id).remove({ force: true }));
  // By id, forced: one image may carry several tags (its release's and current-<target>).
  for (const img of await docker.listImages({ all: true, filters: labels })) await attempt(`image ${img.RepoTags?.[0] ?? img.Id.slice(7, 19)}`, () => docker.getImage(img.Id).remove({ force: true }));
  if (!opts.keepData) {
    // Volumes Docker created on first mount carry no labels: by name (each persist path), and by label (those a backup created).
    const byLabel = ((await docker.listVolumes({ filters: labels })).Volumes ?? []).map((v) => v.Name);
    const names = new Set([...opts.persist.map((p) => volumeName(ctx.app, ctx.targetName, p)), ...byLabel]);
    for (const name of names) await attempt(`volume ${name}`, () => docker.getVolume(name).remove({ force: true }));
  }
  const agentDir = processPathsForAgent(ctx.stateDir, ctx.app, ctx.targetName);
  if (existsSync(agentDir)) {
    rmSync(agentDir, { recursive: true, force: true });
    removed.push(`agent directory ${agentDir}`);
  }
  // The app's directory under .gantry when nothing else of it is left there.
  for (const dir of [dirname(agentDir), dirname(dirname(agentDir))]) if (existsSync(dir) && readdirSync(dir).length === 0) rmSync(dir, { recursive: true, force: true });
  // The state rows stay until everything is gone, so running destroy again picks up what is left.
  if (problems.length) throw new GantryError('DESTROY_INCOMPLETE', `could not remove everything of ${ctx.app} on ${ctx.targetName}: ${problems.join('; ')}`, 'fix that (e.g. a container of another app using the volume) and run `gantry destroy` again');
  return removed;
}
