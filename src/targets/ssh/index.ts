import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GantryError } from '../../core/errors.js';
import type { Artifact, BuildInput, DoctorCheck, DoctorContext, Target, TargetContext, TargetProblem, ValidateContext } from '../../engine/target.js';
import { buildReleaseDir, removeReleaseDir } from '../shared/release-dir.js';
import { runCommandProblems } from '../shared/run-command.js';
import { agentBundle } from './agent-bundle.js';
import type { SshConfig } from './config.js';
import { sshDescriptor } from './descriptor.js';
import { sshLocalPaths } from './paths.js';
import { checkHosts } from './doctor.js';
import { persistDataDirs } from './persist-data.js';
import { sessionOf } from './session.js';

const BUILD_ENV = { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' };

/**
 * Fleets of hosts over SSH. A release is built here once (as the process target builds
 * one) and sent to each host, content-addressed: only the files a host lacks travel. On each
 * host Gantry's node agent runs as a systemd unit and owns the proxy, the health probes and
 * the instances (systemd units too). The engine rolls the hosts out in batches (`nodes`).
 */
export const sshTarget: Target<SshConfig> = {
  ...sshDescriptor,

  async validate(_cfg: SshConfig, ctx: ValidateContext): Promise<TargetProblem[]> {
    return runCommandProblems(ctx, 'ssh', 'needs the command that starts the app on each host');
  },

  async doctor(ctx: DoctorContext<SshConfig>): Promise<DoctorCheck[]> {
    let minNode: string;
    try {
      const b = agentBundle();
      minNode = b.minNode;
      if (!ctx.target) return [{ name: 'ssh: node agent bundle', ok: true, detail: `${b.file} (runs on Node >= ${b.minNode}; Gantry brings its own Node to hosts without one)` }];
    } catch (e) {
      return [{ name: 'ssh: node agent bundle', ok: false, detail: (e as Error).message, hint: (e as GantryError).hint ?? 'run `npm run build`' }];
    }
    return checkHosts(ctx.target, minNode);
  },

  async build(input: BuildInput, ctx: TargetContext<SshConfig>): Promise<Artifact> {
    const paths = sshLocalPaths(ctx.stateDir, ctx.app, ctx.targetName);
    // Persist paths are linked on each host (to <path>/<app>/shared), not here: built without them.
    const dir = await buildReleaseDir({
      sourceDir: input.sourceDir,
      stateDir: ctx.stateDir,
      releasesDir: paths.releasesDir,
      releaseId: input.releaseId,
      command: input.build?.command,
      env: { ...BUILD_ENV, ...input.env },
      persist: [],
      sharedDir: paths.sharedDir,
      emit: ctx.emit,
    });
    return { kind: 'directory', ref: dir };
  },

  async removeArtifact(artifact: Artifact, ctx: TargetContext<SshConfig>): Promise<void> {
    // Only the local copy; each host keeps its own last releases (retention on the host).
    removeReleaseDir(sshLocalPaths(ctx.stateDir, ctx.app, ctx.targetName).releasesDir, artifact.ref);
  },

  async dataDirs(ctx: TargetContext<SshConfig>, persist: string[], purpose: 'backup' | 'restore' = 'backup') {
    const session = sessionOf(ctx);
    return persistDataDirs({
      hosts: ctx.config.hosts,
      connect: (spec) => session.connection(spec),
      remoteRoot: ctx.config.path,
      app: ctx.app,
      persist,
      stagingDir: join(sshLocalPaths(ctx.stateDir, ctx.app, ctx.targetName).dir, 'data'),
      purpose,
    });
  },

  async destroy(ctx: TargetContext<SshConfig>, opts: { keepData: boolean }): Promise<string[]> {
    const removed = await sessionOf(ctx).removeApp(opts.keepData);
    const local = sshLocalPaths(ctx.stateDir, ctx.app, ctx.targetName).dir;
    rmSync(local, { recursive: true, force: true });
    // The app's folder of local builds goes with its last ssh target.
    const appDir = dirname(local);
    if (existsSync(appDir) && readdirSync(appDir).length === 0) rmSync(appDir, { recursive: true, force: true });
    return removed;
  },

  async nodes(ctx: TargetContext<SshConfig>) {
    return sessionOf(ctx).nodes();
  },

  async runtime(ctx: TargetContext<SshConfig>) {
    return sessionOf(ctx).fleet();
  },
};
