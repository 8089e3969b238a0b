import { accessSync, constants, existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Artifact, BuildInput, DoctorCheck, Target, TargetContext, TargetProblem, ValidateContext } from '../../engine/target.js';
import { buildReleaseDir, linkReleaseDir, removeReleaseDir } from '../shared/release-dir.js';
import { runCommandProblems } from '../shared/run-command.js';
import { type ProcessConfig } from './config.js';
import { processDescriptor } from './descriptor.js';
import { processPaths } from './paths.js';
import { ProcessRuntime, baseEnv } from './runtime.js';

/** Local processes supervised by Gantry's detached agent, behind Gantry's proxy. The embedded default. */
export const processTarget: Target<ProcessConfig> = {
  ...processDescriptor,

  async validate(_cfg: ProcessConfig, ctx: ValidateContext): Promise<TargetProblem[]> {
    return runCommandProblems(ctx, 'process');
  },

  async doctor(): Promise<DoctorCheck[]> {
    const checks: DoctorCheck[] = [];
    try {
      accessSync('/bin/sh', constants.X_OK);
      checks.push({ name: 'process: /bin/sh', ok: true, detail: 'present (runs run.command, build.command and hooks)' });
    } catch {
      checks.push({ name: 'process: /bin/sh', ok: false, detail: 'missing', hint: 'install a POSIX shell (dash or bash)' });
    }
    return checks;
  },

  async build(input: BuildInput, ctx: TargetContext<ProcessConfig>): Promise<Artifact> {
    const paths = processPaths(ctx.stateDir, ctx.app, ctx.targetName);
    const dir = await buildReleaseDir({
      sourceDir: input.sourceDir,
      stateDir: ctx.stateDir,
      releasesDir: paths.releasesDir,
      releaseId: input.releaseId,
      command: input.build?.command,
      env: { ...baseEnv(), ...input.env },
      persist: input.persist ?? [],
      sharedDir: paths.sharedDir,
      emit: ctx.emit,
    });
    return { kind: 'directory', ref: dir };
  },

  async reuseArtifact(previous: Artifact, input: BuildInput, ctx: TargetContext<ProcessConfig>): Promise<Artifact> {
    // Hard links to the previous release's files: no copy, no build; each release keeps its own directory.
    const paths = processPaths(ctx.stateDir, ctx.app, ctx.targetName);
    const dir = linkReleaseDir(previous.ref, paths.releasesDir, input.releaseId);
    return { kind: 'directory', ref: dir, reusedFrom: previous.ref };
  },

  async removeArtifact(artifact: Artifact, ctx: TargetContext<ProcessConfig>): Promise<void> {
    removeReleaseDir(processPaths(ctx.stateDir, ctx.app, ctx.targetName).releasesDir, artifact.ref);
  },

  /**
   * After the runtime's shutdown and each release's removeArtifact: this target's agent directory; then, when no
   * other target of the app keeps an agent here, what the app's directory still holds (unfinished builds, build
   * logs, instance logs, the `current` link) and, unless `keepData`, the persistent data (shared/).
   */
  async destroy(ctx: TargetContext<ProcessConfig>, opts: { keepData: boolean }): Promise<string[]> {
    const paths = processPaths(ctx.stateDir, ctx.app, ctx.targetName);
    const removed: string[] = [];
    const rm = (path: string, what: string): void => {
      if (!existsSync(path)) return;
      rmSync(path, { recursive: true, force: true });
      removed.push(what);
    };
    rm(paths.agentDir, `agent directory ${paths.agentDir}`);
    const agentsDir = resolve(paths.agentDir, '..');
    if (existsSync(agentsDir) && readdirSync(agentsDir).length > 0) return removed;
    rm(agentsDir, 'agents directory');
    rm(paths.releasesDir, `release directories ${paths.releasesDir}`);
    rm(paths.logsDir, 'instance logs');
    rmSync(paths.currentLink, { force: true });
    if (!opts.keepData) rm(paths.sharedDir, `persistent data ${paths.sharedDir}`);
    if (existsSync(paths.appDir) && readdirSync(paths.appDir).length === 0) rmSync(paths.appDir, { recursive: true, force: true });
    return removed;
  },

  async dataDirs(ctx: TargetContext<ProcessConfig>) {
    // One tree: the release directories (rollback without a rebuild), shared/ (the persistent
    // data their links point to) and the `current` link; the links stay inside it.
    // A `<release>.partial` dir is a build that never finished (one that crashed): never archived.
    return [{ name: 'app', dir: processPaths(ctx.stateDir, ctx.app, ctx.targetName).appDir, kind: 'artifacts' as const, skip: (rel: string) => /^releases\/[^/]+\.partial(\/|$)/.test(rel) }];
  },

  async runtime(ctx: TargetContext<ProcessConfig>) {
    return new ProcessRuntime(ctx);
  },
};
