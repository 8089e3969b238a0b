// The docker target's peer: Docker Swarm's rolling update (`docker service update
// --update-order start-first`) of a service running the same image Gantry built.
// The engine is left as it was found: when it was not in a swarm, `docker swarm init`
// makes one for the run and `docker swarm leave --force` ends it (with the
// docker_gwbridge network it created); an existing swarm is only used, never left.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { healthy } from './app.js';
import { checkAborted, onCleanup } from './cleanup.js';
import { now, sleep } from './timing.js';

const run = promisify(execFile);
const docker = (args, timeout = 120_000) => run('docker', args, { timeout, maxBuffer: 16 * 1024 * 1024 });
/** The manifest's health check (hello-node: GET /health), as Docker runs it inside the task's container. */
const HEALTH_CMD = 'node -e "fetch(\'http://127.0.0.1:3000/health\').then(r=>process.exit(r.status<400?0:1),()=>process.exit(1))"';

/**
 * A swarm to use: resolves { initialised } (true when this run made it; its undo is
 * registered), or throws with why Swarm cannot run here.
 */
export async function ensureSwarm(client, log) {
  const info = await client.info();
  const state = info.Swarm?.LocalNodeState;
  if (state === 'active') {
    if (!info.Swarm.ControlAvailable) throw new Error('this engine is a swarm worker, not a manager: it cannot create services');
    return { initialised: false };
  }
  if (state !== 'inactive') throw new Error(`the engine's swarm state is "${state}"`);
  const hadGwBridge = (await client.listNetworks({ filters: { name: ['docker_gwbridge'] } })).some((n) => n.Name === 'docker_gwbridge');
  log('  docker swarm init (the engine was not in a swarm; left again at the end)');
  await docker(['swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:2377']);
  onCleanup('docker swarm made by the bench', async () => {
    await docker(['swarm', 'leave', '--force'], 60_000).catch((e) => log(`  docker swarm leave --force: ${e.message}`));
    if (!hadGwBridge) await docker(['network', 'rm', 'docker_gwbridge'], 30_000).catch(() => undefined);
  });
  return { initialised: true };
}

/**
 * A service of `replicas` tasks of `image` (PORT=3000, published on `port` through the
 * routing mesh), with the manifest's health check (interval 1 s; a 10 s timeout, as
 * `docker exec` of a probe can take seconds on a busy machine, and a timeout only bounds
 * a slow probe, it never delays a fast one) and
 * start-first updates one task at a time. Resolves once every task runs; its removal is
 * registered (and waits, bounded, for its containers to go).
 */
export async function createService(client, { name, image, app, port, replicas }) {
  checkAborted();
  const remove = onCleanup(`swarm service ${name}`, async () => {
    await docker(['service', 'rm', name], 60_000).catch(() => undefined);
    const deadline = now() + 30_000;
    while (now() < deadline && (await client.listContainers({ all: true, filters: { label: [`com.docker.swarm.service.name=${name}`] } })).length > 0) await sleep(200);
  });
  // prettier-ignore
  await docker(['service', 'create', '--detach', '--name', name, '--replicas', String(replicas), '--no-resolve-image',
    '--label', 'dev.gantry.bench=swarm', '--container-label', `dev.gantry.app=${app}`, '--container-label', 'dev.gantry.role=bench-swarm',
    '--env', 'PORT=3000', '--env', 'HOST=0.0.0.0', '--env', 'GREETING=swarm-0', '--publish', `published=${port},target=3000`,
    '--health-cmd', HEALTH_CMD, '--health-interval', '1s', '--health-timeout', '10s', '--health-retries', '3', '--health-start-period', '60s',
    '--update-order', 'start-first', '--update-parallelism', '1', '--update-delay', '0s', '--update-failure-action', 'pause', '--stop-grace-period', '10s',
    image]);
  await waitTasks(client, name, replicas, 180_000);
  return { remove };
}

/** Every task of the service running (healthy, as Swarm counts it), bounded. */
async function waitTasks(client, name, replicas, timeoutMs) {
  const deadline = now() + timeoutMs;
  for (;;) {
    const tasks = await client.listTasks({ filters: { service: [name], 'desired-state': ['running'] } });
    if (tasks.filter((t) => t.Status?.State === 'running').length >= replicas) return;
    if (now() > deadline) throw new Error(`swarm service ${name}: ${replicas} tasks not running after ${timeoutMs / 1000} s (${tasks.map((t) => `${t.Status?.State}${t.Status?.Err ? `: ${t.Status.Err}` : ''}`).join(', ')})`);
    await sleep(100);
  }
}

/** Why the service's published port does not answer (the routing mesh), or undefined once it does. */
export async function meshProblem(port, timeoutMs = 15_000) {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    if (await healthy(port)) return undefined;
    await sleep(200);
  }
  const ipvs = existsSync('/proc/net/ip_vs') ? 'ip_vs is present' : 'this kernel has no ip_vs (/proc/net/ip_vs is missing), which the ingress load balancer needs';
  return `Swarm's routing mesh does not answer on 127.0.0.1:${port} after ${timeoutMs / 1000} s (${ipvs}), so no load can reach the service and its failed requests are not measured`;
}

/**
 * `docker service update --update-order start-first --env-add GREETING=<value>`: a rolling
 * update of every task, timed from the command to the update's `completed` state. Throws
 * when Swarm pauses or rolls back the update.
 */
export async function updateService(client, name, value, timeoutMs = 180_000) {
  checkAborted();
  const svc = client.getService(name);
  // The previous update's status stays `completed` until Swarm starts this one.
  const before = (await svc.inspect()).UpdateStatus?.CompletedAt;
  const t0 = now();
  const from = Date.now();
  await docker(['service', 'update', '--detach', '--no-resolve-image', '--update-order', 'start-first', '--env-add', `GREETING=${value}`, name]);
  const deadline = t0 + timeoutMs;
  for (;;) {
    const u = (await svc.inspect()).UpdateStatus;
    if (u?.State === 'completed' && u.CompletedAt !== before) return { wall_ms: now() - t0, from };
    if (u && /paused|rollback/.test(u.State)) throw new Error(`swarm update of ${name} ended ${u.State}: ${u.Message ?? ''}`);
    if (now() > deadline) throw new Error(`swarm update of ${name} not completed after ${timeoutMs / 1000} s (${u?.State ?? 'no status'})`);
    await sleep(50);
  }
}
