import { DEFAULTS } from '../../core/defaults.js';
import type Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { GantryError } from '../../core/errors.js';
import type { HealthSpec } from '../../engine/health.js';
import { parseSize } from '../../core/size.js';
import type { DockerConfig } from './config.js';
import { LABEL } from './names.js';
import { SECRETS_TMPFS } from './secret-files.js';

/**
 * Docker's own healthcheck, derived from the manifest's `health`. The URL goes in
 * through an environment variable, so nothing from the manifest is parsed by the
 * container's shell; the probe uses whichever client the image has, exec'd so that
 * Docker's timeout kills the probe itself, not only the shell around it.
 */
export function dockerHealthcheck(h: HealthSpec): { Test: string[]; Interval: number; Timeout: number; Retries: number; StartPeriod: number } | undefined {
  const ns = (ms: number): number => ms * 1_000_000;
  const { minIntervalMs, minTimeoutMs } = DEFAULTS.dockerHealthcheck;
  const timing = { Interval: ns(Math.max(h.intervalMs, minIntervalMs)), Timeout: ns(Math.max(h.timeoutMs, minTimeoutMs)), Retries: h.retries, StartPeriod: ns(h.startPeriodMs) };
  if (h.type === 'command' && h.command) return { Test: ['CMD-SHELL', h.command], ...timing };
  if (h.type !== 'http') return undefined;
  const probe = [
    'if command -v node >/dev/null 2>&1; then exec node -e "fetch(process.env.GANTRY_HEALTH_URL,{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status<400?0:1),()=>process.exit(1))";',
    "elif command -v python3 >/dev/null 2>&1; then exec python3 -c \"import os,urllib.request;urllib.request.urlopen(os.environ['GANTRY_HEALTH_URL'],timeout=5)\";",
    'elif command -v wget >/dev/null 2>&1; then exec wget -q -O /dev/null "$GANTRY_HEALTH_URL";',
    'else exec curl -fsS -o /dev/null "$GANTRY_HEALTH_URL"; fi',
  ].join(' ');
  return { Test: ['CMD-SHELL', probe], ...timing };
}

/** Volumes: "name:/path[:ro]" is a named volume, "./dir:/path[:ro]" a bind mount relative to the manifest. */
export function volumeMounts(volumes: string[], appDir: string): Docker.MountSettings[] {
  return volumes.map((v) => {
    const parts = v.split(':');
    const [source, target, mode] = [parts[0]!, parts[1]!, parts[2]];
    const readOnly = mode === 'ro';
    if (source.startsWith('.') || isAbsolute(source)) {
      const abs = resolve(appDir, source);
      if (!existsSync(abs)) throw new GantryError('USAGE', `volume "${v}": ${abs} does not exist`, 'create the directory, or use a named volume ("name:/container/path")');
      return { Type: 'bind', Source: abs, Target: target, ReadOnly: readOnly };
    }
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source)) throw new GantryError('USAGE', `volume "${v}": "${source}" is not a valid volume name`, 'use letters, digits, "_", "." and "-", or a relative path starting with ./ for a bind mount');
    return { Type: 'volume', Source: source, Target: target, ReadOnly: readOnly };
  });
}

export interface ContainerSpecInput {
  app: string;
  target: string;
  instance: string;
  release: string;
  image: string;
  name: string;
  containerPort: number;
  hostPort: number;
  env: Record<string, string>;
  cfg: DockerConfig;
  appDir: string;
  health: HealthSpec;
  mounts?: Docker.MountSettings[];
  /** `secrets_as_files`: the wrapped entrypoint/command that waits for the files in the /run/secrets tmpfs. */
  secretFiles?: { Entrypoint: string[]; Cmd: string[] };
}

export function containerSpec(i: ContainerSpecInput): Docker.ContainerCreateOptions {
  const port = `${i.containerPort}/tcp`;
  const env = { HOST: '0.0.0.0', ...i.env, PORT: String(i.containerPort), GANTRY_HEALTH_URL: `http://127.0.0.1:${i.containerPort}${i.health.path}` };
  const memory = i.cfg.resources?.memory ? parseSize(i.cfg.resources.memory) : undefined;
  return {
    name: i.name,
    Image: i.image,
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABEL.app]: i.app,
      [LABEL.target]: i.target,
      [LABEL.release]: i.release,
      [LABEL.instance]: i.instance,
      [LABEL.role]: 'app',
      'dev.gantry.host-port': String(i.hostPort),
      'dev.gantry.container-port': String(i.containerPort),
    },
    ExposedPorts: { [port]: {} },
    ...(i.secretFiles ? { Entrypoint: i.secretFiles.Entrypoint, Cmd: i.secretFiles.Cmd } : {}),
    Healthcheck: dockerHealthcheck(i.health),
    HostConfig: {
      // Published on loopback only: Gantry's proxy is the way in.
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: String(i.hostPort) }] },
      RestartPolicy: { Name: i.cfg.restart === 'no' ? '' : i.cfg.restart, MaximumRetryCount: 0 },
      Mounts: [...volumeMounts(i.cfg.volumes, i.appDir), ...(i.mounts ?? [])],
      Memory: memory,
      NanoCpus: i.cfg.resources?.cpus ? Math.round(i.cfg.resources.cpus * 1e9) : undefined,
      NetworkMode: i.cfg.network,
      Init: true,
      ...(i.secretFiles ? { Tmpfs: SECRETS_TMPFS } : {}),
    },
  };
}
