import type Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stripAnsi } from '../../core/ansi.js';
import { capLine, capTailLines } from '../../core/bounded.js';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { BUILD_SETTINGS_DIR, hostBuildSettings, proxyBuildArgs, type HostBuildSettings } from './build-settings.js';
import { contextTar } from './context.js';
import { detectRuntime, generateDockerfile } from './dockerfile.js';
import { engineMessage } from './engine-client.js';
import { imageRef, LABEL } from './names.js';

export const GENERATED_DOCKERFILE = '.gantry.Dockerfile';

export interface DockerBuildSpec {
  app: string;
  target: string;
  release: string;
  sourceDir: string;
  stateDir: string;
  dockerfile?: string;
  context?: string;
  buildCommand?: string;
  runCommand?: string;
  port: number;
  commit?: string;
}

/** Which Dockerfile a build uses: the app's own, or one generated for Node/Python (shown by `gantry plan`). */
export function resolveDockerfile(spec: DockerBuildSpec): { contextDir: string; dockerfile: string; generated?: string; settings?: HostBuildSettings } {
  const contextDir = resolve(spec.sourceDir, spec.context ?? '.');
  const own = spec.dockerfile ?? 'Dockerfile';
  if (existsSync(join(contextDir, own))) return { contextDir, dockerfile: own };
  if (spec.dockerfile) throw new GantryError('BUILD_FAILED', `build.dockerfile "${spec.dockerfile}" does not exist in ${contextDir}`, 'fix build.dockerfile (relative to build.context), or remove it to let Gantry generate one');
  const runtime = detectRuntime(contextDir);
  if (!runtime) throw new GantryError('BUILD_FAILED', `no Dockerfile in ${contextDir} and no Node or Python app detected`, 'add a Dockerfile, or set build.dockerfile');
  if (!spec.runCommand) throw new GantryError('BUILD_FAILED', 'a generated Dockerfile needs run.command', 'set run.command in gantry.yaml, or add a Dockerfile');
  // Only a build that installs something needs the host's registry settings.
  const installs = Boolean(spec.buildCommand) || (runtime === 'python' && existsSync(join(contextDir, 'requirements.txt')));
  const settings = installs ? hostBuildSettings(runtime) : undefined;
  const generated = generateDockerfile(runtime, { dir: contextDir, buildCommand: spec.buildCommand, runCommand: spec.runCommand, port: spec.port, ...(settings && Object.keys(settings.files).length ? { buildEnv: settings.env } : {}) });
  return { contextDir, dockerfile: GENERATED_DOCKERFILE, generated, ...(settings && Object.keys(settings.files).length ? { settings } : {}) };
}

interface BuildMessage {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

/** Build with the engine's API (streaming the context), keep the output, and name the failing step on error. */
export async function buildImage(docker: Docker, spec: DockerBuildSpec, emit: (level: 'info' | 'warn' | 'error', message: string, data?: unknown) => void): Promise<{ imageId: string; tag: string; generatedDockerfile?: string }> {
  const df = resolveDockerfile(spec);
  const tag = imageRef(spec.app, spec.release);
  const settingFiles = Object.fromEntries(Object.entries(df.settings?.files ?? {}).map(([name, text]) => [`${BUILD_SETTINGS_DIR}/${name}`, text]));
  const tar = contextTar(df.contextDir, { exclude: [spec.stateDir], extra: df.generated ? { [GENERATED_DOCKERFILE]: df.generated, ...settingFiles } : {} });
  if (df.generated) emit('info', 'no Dockerfile: using a generated one (see `gantry plan`)');
  if (df.settings) emit('info', `the build steps get this host's ${df.settings.carried.join(' and ')} in a build-only stage`);
  const proxies = proxyBuildArgs();
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.buildImage(tar, {
      t: tag,
      dockerfile: df.dockerfile,
      labels: { [LABEL.app]: spec.app, [LABEL.target]: spec.target, [LABEL.release]: spec.release, [LABEL.commit]: spec.commit ?? '' },
      rm: true,
      forcerm: true,
      ...(Object.keys(proxies).length ? { buildargs: proxies } : {}),
    });
  } catch (err) {
    throw new GantryError('BUILD_FAILED', `docker build could not start: ${engineMessage(err)}`, 'check the Dockerfile and that the engine is reachable (`gantry doctor`)');
  }
  const output: string[] = [];
  let currentStep = '';
  let imageId = '';
  const messages = await new Promise<BuildMessage[]>((res, rej) => docker.modem.followProgress(stream, (err: Error | null, out: BuildMessage[]) => (err ? rej(err) : res(out)), (m: BuildMessage) => {
    if (m.stream) {
      // Colours and cursor moves of the build's tools never reach a log, an event or a non-terminal.
      for (const line of stripAnsi(m.stream).split('\n').filter((l) => l.trim()).map((l) => capLine(l))) {
        output.push(line);
        if (output.length > 200) output.splice(0, output.length - 100); // only the tail is ever shown
        if (/^Step \d+\/\d+ :/.test(line)) {
          currentStep = line;
          emit('info', `build: ${line}`);
        } else emit('info', `build: ${line}`, { transient: true });
      }
    }
    if (m.aux?.ID) imageId = m.aux.ID;
  }));
  const failure = messages.find((m) => m.error);
  if (failure) {
    const tail = capTailLines(output.slice(-15), { maxBytes: DEFAULTS.output.errorTailBytes }).join('\n');
    throw new GantryError('BUILD_FAILED', `docker build failed at ${currentStep || 'the first step'}: ${capLine(stripAnsi(failure.errorDetail?.message ?? failure.error ?? ''))}\n${tail}`, 'fix the failing step; the running release is untouched');
  }
  if (!imageId) imageId = (await docker.getImage(tag).inspect()).Id;
  return { imageId, tag, generatedDockerfile: df.generated };
}
