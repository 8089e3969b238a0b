import type Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GantryError } from '../../core/errors.js';
import { engineMessage } from './engine-client.js';

export interface RegistryAuth {
  username: string;
  password: string;
  serveraddress: string;
}

/** Credentials for a registry host from ~/.docker/config.json (`auths.<host>.auth`, base64 "user:password"). */
export function dockerConfigAuth(registryHost: string): RegistryAuth | undefined {
  try {
    const cfg = JSON.parse(readFileSync(join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json'), 'utf8')) as { auths?: Record<string, { auth?: string }> };
    const entry = cfg.auths?.[registryHost] ?? cfg.auths?.[`https://${registryHost}`];
    if (!entry?.auth) return undefined;
    const [username, ...rest] = Buffer.from(entry.auth, 'base64').toString('utf8').split(':');
    return { username: username!, password: rest.join(':'), serveraddress: registryHost };
  } catch {
    return undefined;
  }
}

const REF_RE = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/** Tag `image` as `<registry>/<app>:<release>` and push it; returns the pushed reference and digest. */
export async function pushImage(docker: Docker, opts: { image: string; registry: string; app: string; release: string; auth?: { username: string; password: string }; emit: (l: 'info' | 'warn' | 'error', m: string) => void }): Promise<{ reference: string; digest?: string }> {
  const registry = opts.registry.replace(/\/+$/, '');
  if (!REF_RE.test(registry)) throw new GantryError('USAGE', `"${opts.registry}" is not a registry/namespace`, 'e.g. --registry 127.0.0.1:5000/team or registry.example.com/team');
  const repo = `${registry}/${opts.app}`;
  const reference = `${repo}:${opts.release}`;
  await docker.getImage(opts.image).tag({ repo, tag: opts.release });
  const registryHost = registry.split('/')[0]!;
  const auth = opts.auth ? { ...opts.auth, serveraddress: registryHost } : dockerConfigAuth(registryHost);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await docker.getImage(reference).push({ tag: opts.release, authconfig: auth ?? {} });
  } catch (err) {
    throw new GantryError('TARGET_UNAVAILABLE', `push of ${reference} could not start: ${engineMessage(err)}`, `check that the registry ${registryHost} is reachable`);
  }
  let digest: string | undefined;
  const messages = await new Promise<Array<{ error?: string; aux?: { Digest?: string }; status?: string }>>((res, rej) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => (err ? rej(err) : res(out)), (m: { aux?: { Digest?: string }; status?: string; id?: string }) => {
      if (m.aux?.Digest) digest = m.aux.Digest;
      if (m.status && !m.id) opts.emit('info', `push: ${m.status}`);
    }),
  );
  const failure = messages.find((m) => m.error);
  if (failure) {
    const unauthorized = /unauthorized|authentication required|denied/i.test(failure.error!);
    throw new GantryError(
      'TARGET_UNAVAILABLE',
      `push of ${reference} failed: ${failure.error}`,
      unauthorized ? `log in to ${registryHost} (docker login, i.e. ~/.docker/config.json) or set the secrets REGISTRY_USERNAME and REGISTRY_PASSWORD with \`gantry secrets set\`` : `check that the registry ${registryHost} is reachable and accepts pushes`,
    );
  }
  return { reference, digest };
}
