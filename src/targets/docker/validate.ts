/**
 * The docker target's checks of a manifest (no side effects: files are only
 * looked at, the engine is only asked its version).
 *
 * run.command is needed only when Gantry generates the Dockerfile: an app's
 * own Dockerfile starts the app with its CMD. An engine that does not answer
 * is a warning: it is a fact about this machine now (CI validating a manifest
 * has no engine), and a deploy still fails at once with the same hint.
 */
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TargetProblem, ValidateContext } from '../../engine/target.js';
import type { DockerConfig } from './config.js';
import { detectRuntime } from './dockerfile.js';
import { dockerClient, requireEngine } from './engine-client.js';

const HOST_PROTOCOLS = ['unix:', 'tcp:', 'http:', 'https:'];

export async function validateDocker(cfg: DockerConfig, ctx: ValidateContext): Promise<TargetProblem[]> {
  const problems = buildProblems(ctx);
  const hostProblem = dockerHostProblem(cfg.docker_host);
  if (hostProblem) return [...problems, hostProblem];
  try {
    await requireEngine(dockerClient(cfg.docker_host), cfg.docker_host);
  } catch (err) {
    problems.push({ path: ['docker_host'], level: 'warning', message: (err as Error).message, hint: (err as { hint?: string }).hint ?? '`gantry doctor` checks the engine' });
  }
  return problems;
}

/** What the build needs: a Dockerfile, or an app Gantry can write one for (which then needs run.command). */
function buildProblems(ctx: ValidateContext): TargetProblem[] {
  const contextDir = resolve(ctx.appDir, ctx.build?.context ?? '.');
  if (ctx.build?.context !== undefined && !isDirectory(contextDir)) {
    return [{ scope: 'manifest', path: ['build', 'context'], message: `build.context "${ctx.build.context}" is not a directory (${contextDir})`, hint: 'set build.context to a directory relative to gantry.yaml, or remove it' }];
  }
  const own = ctx.build?.dockerfile ?? 'Dockerfile';
  if (existsSync(join(contextDir, own))) return [];
  if (ctx.build?.dockerfile !== undefined) {
    return [{ scope: 'manifest', path: ['build', 'dockerfile'], message: `build.dockerfile "${ctx.build.dockerfile}" does not exist in ${contextDir}`, hint: 'fix build.dockerfile (relative to build.context), or remove it to let Gantry generate one' }];
  }
  if (!detectRuntime(contextDir)) {
    return [{ scope: 'manifest', path: ['build'], message: `the docker target "${ctx.targetName}" finds no Dockerfile in ${contextDir} and no Node or Python app to write one for`, hint: 'add a Dockerfile, or set build.dockerfile' }];
  }
  if (ctx.run.command === undefined) {
    return [
      {
        scope: 'manifest',
        path: ['run', 'command'],
        message: `missing run.command: the app has no Dockerfile, so the docker target "${ctx.targetName}" generates one and needs the command that starts the app`,
        hint: 'add under run: command: "node server.js", or add a Dockerfile whose CMD starts the app',
      },
    ];
  }
  return [];
}

function dockerHostProblem(host: string | undefined): TargetProblem | undefined {
  if (host === undefined) return undefined;
  let protocol: string;
  try {
    protocol = new URL(host).protocol;
  } catch {
    protocol = '';
  }
  if (HOST_PROTOCOLS.includes(protocol)) return undefined;
  return { path: ['docker_host'], message: `docker_host "${host}" is not a Docker engine address`, hint: 'e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375' };
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
