import Docker from 'dockerode';
import { GantryError } from '../../core/errors.js';

/** A dockerode client for DOCKER_HOST (or the target's docker_host), with a clear error when no engine answers. */
export function dockerClient(dockerHost?: string): Docker {
  const host = dockerHost ?? process.env.DOCKER_HOST;
  if (!host) return new Docker({ socketPath: '/var/run/docker.sock' });
  const u = new URL(host);
  if (u.protocol === 'unix:') return new Docker({ socketPath: u.pathname });
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
}

export function engineLabel(dockerHost?: string): string {
  return dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

export async function requireEngine(docker: Docker, dockerHost?: string): Promise<{ version: string; apiVersion: string }> {
  try {
    const v = await docker.version();
    return { version: v.Version, apiVersion: v.ApiVersion };
  } catch (err) {
    throw new GantryError(
      'TARGET_UNAVAILABLE',
      `no Docker engine answers at ${engineLabel(dockerHost)}: ${(err as Error).message}`,
      'start the engine (`dockerd &` or `systemctl start docker`), or point DOCKER_HOST / targets.<name>.docker_host at a running one; `gantry doctor` checks it',
    );
  }
}

/** dockerode errors carry the engine's message in json.message. */
export function engineMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(err);
}
