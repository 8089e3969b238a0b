/**
 * dockerode clients of the agent, one per engine address (DOCKER_HOST style),
 * shared by the container watcher and the health probes that exec in containers.
 * The agent does not import the docker target, so it builds its own. dockerode is
 * loaded on first use: an agent of the process target never needs it, and every
 * agent starts sooner without it.
 */
import type Docker from 'dockerode';

let dockerode: Promise<typeof Docker> | undefined;

async function dockerFor(host: string | undefined): Promise<Docker> {
  const Docker = await (dockerode ??= import('dockerode').then((m) => m.default));
  const h = host ?? process.env.DOCKER_HOST;
  if (!h) return new Docker({ socketPath: '/var/run/docker.sock' });
  const u = new URL(h);
  if (u.protocol === 'unix:') return new Docker({ socketPath: u.pathname });
  return new Docker({ host: u.hostname, port: Number(u.port || 2375), protocol: u.protocol === 'https:' ? 'https' : 'http' });
}

export class DockerClients {
  private readonly clients = new Map<string, Promise<Docker>>();

  /** The client for this engine address (undefined: DOCKER_HOST or the local socket), made once. */
  get(host: string | undefined): Promise<Docker> {
    const key = host ?? '';
    let d = this.clients.get(key);
    if (!d) {
      d = dockerFor(host);
      this.clients.set(key, d);
    }
    return d;
  }
}
