/**
 * The host agent: a detached, long-lived process per app+target that owns
 * Gantry's proxy (the stable access URL) and supervises local app instances.
 * It outlives the CLI; the CLI talks to it over a token-protected admin HTTP
 * endpoint on loopback. Its state is persisted so that a restarted agent
 * restores instances and routes.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GantryProxy } from '../proxy/index.js';
import { BatchedAccessLog } from './access-log.js';
import { LogFile, Supervisor, type InstanceState } from '../supervisor/index.js';
import { SystemdInstances, type SystemdInstanceSpec } from './systemd-instances.js';
import { DEFAULTS } from '../core/defaults.js';
import { freePortExcept, portInUse } from './free-port.js';
import { processStartTime, reapOrphans } from './orphans.js';
import { ContainerWatcher } from './container-watch.js';
import { DockerClients } from './docker-clients.js';
import { FALLBACK_HEALTH, probeInstance, waitHealthy } from './health.js';
import {
  ACCESS_LOG_FILE,
  AGENT_ERROR_FILE,
  AGENT_INFO_FILE,
  AGENT_STATE_FILE,
  type AgentBackend,
  type AgentInfo,
  type AgentInstanceBackend,
  type AgentInstanceSpec,
  type AgentInstanceState,
  type AgentMaintenance,
  type AgentPersistedState,
  type AgentProbeRequest,
  type AgentProxyTimeouts,
  type WatchedContainer,
} from './protocol.js';

interface Options {
  dir: string;
  proxyHost: string;
  proxyPort: number;
  /** Default `supervisor`; `systemd` needs `unitPrefix` (units are `<unitPrefix><instance>.service`). */
  backend?: AgentInstanceBackend;
  unitPrefix?: string;
}

/** What the daemon needs of an instance backend: the Supervisor's shape (systemd's start is async). */
interface InstanceRunner {
  start(spec: SystemdInstanceSpec): InstanceState | Promise<InstanceState>;
  stop(id: string, opts: { timeoutMs: number }): Promise<InstanceState>;
  stopAll(opts: { timeoutMs: number }): Promise<void>;
  get(id: string): InstanceState | undefined;
  list(): InstanceState[];
  on(event: string, listener: (...args: any[]) => void): unknown;
}

function writeJsonAtomic(file: string, value: unknown, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2), { mode });
  renameSync(tmp, file);
}

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}


export async function runAgent(opts: Options): Promise<void> {
  const stateFile = join(opts.dir, AGENT_STATE_FILE);
  // systemd units outlive the agent: a restarted agent adopts them, and a SIGTERM (systemctl stop/restart of the agent) leaves them running.
  const systemd = opts.backend === 'systemd' ? new SystemdInstances({ unitPrefix: opts.unitPrefix ?? 'gantry', envDir: join(opts.dir, 'env'), log }) : undefined;
  const supervisor: InstanceRunner = systemd ?? new Supervisor();
  const ports = new Map<string, number>();
  const specs = new Map<string, AgentInstanceSpec & { port: number }>();
  // Size-capped like the app's logs (rotated once to access.log.1); `gantry logs --access` reads it.
  const accessLog = new BatchedAccessLog(new LogFile(join(opts.dir, ACCESS_LOG_FILE), DEFAULTS.accessLogMaxBytes), DEFAULTS.proxy.accessLogFlushMs);
  const proxy = new GantryProxy({ host: opts.proxyHost, port: opts.proxyPort, onAccess: accessLog.record });

  let proxyAddr: { host: string; port: number };
  try {
    proxyAddr = await proxy.listen();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    writeJsonAtomic(join(opts.dir, AGENT_ERROR_FILE), { code: e.code, message: e.message, port: opts.proxyPort, at: new Date().toISOString() });
    log(`proxy failed to listen on ${opts.proxyHost}:${opts.proxyPort}: ${e.message}`);
    process.exit(3);
  }
  rmSync(join(opts.dir, AGENT_ERROR_FILE), { force: true });

  // Routes waiting for their instance to pass its health gate (after this agent's restart, or a container
  // that died): requests are held or go to the other backends meanwhile. A route set by a command replaces them.
  const pending = new Map<string, AgentBackend>();
  const suspend = (id: string): void => {
    const b = proxy.backends().find((x) => x.id === id);
    if (!b) return;
    pending.set(id, b);
    proxy.setBackends(proxy.backends().filter((x) => x.id !== id));
    persist();
  };
  const resume = (id: string): void => {
    const b = pending.get(id);
    if (!b) return;
    pending.delete(id);
    proxy.setBackends([...proxy.backends().filter((x) => x.id !== id), b]);
    persist();
    log(`instance ${id} passed its health gate: routed again`);
  };
  /** What is meant to be routed: the live routes and those held back until their instance is healthy again. */
  const intended = (): AgentBackend[] => [...proxy.backends(), ...[...pending.values()].filter((b) => !proxy.backends().some((x) => x.id === b.id))];
  // One dockerode client per engine, for the watcher and for command probes exec'd in containers.
  const docker = new DockerClients();
  const watcher = new ContainerWatcher({ suspend, resume, log, changed: () => persist() }, docker);

  // The state names every live process group (pid = pgid, with its start time to tell a reused pid apart):
  // written whenever a child is spawned or exits, so a later agent or `gantry stop` can reap what this one leaves.
  const persist = (): void => {
    const state: AgentPersistedState = {
      instances: [...specs.values()].map(({ secretEnv, ...s }) => {
        const pid = supervisor.get(s.id)?.pid;
        return { ...s, pid, pidStart: pid ? processStartTime(pid) : undefined, hasSecrets: Boolean(secretEnv && Object.keys(secretEnv).length) };
      }),
      backends: intended(),
      containers: watcher.all(),
      maintenance: proxy.maintenanceMode(),
    };
    writeJsonAtomic(stateFile, state);
  };

  // The same id asked again while its first start is still under way (a client resending a request
  // whose connection broke) joins that start instead of spawning the instance twice.
  const starting = new Map<string, Promise<AgentInstanceState>>();
  /** Ports of the instances starting or not stopped: a new instance's port is none of them (see freePortExcept). */
  const portsGiven = (): Set<number> => {
    const live = (id: string): boolean => starting.has(id) || ![undefined, 'stopped'].includes(supervisor.get(id)?.state);
    return new Set([...ports].filter(([id]) => live(id)).map(([, port]) => port));
  };
  const startInstance = (spec: AgentInstanceSpec, restoring = false): Promise<AgentInstanceState> => {
    const running = starting.get(spec.id);
    if (running) return running;
    const started = startInstanceOnce(spec, restoring).finally(() => starting.delete(spec.id));
    starting.set(spec.id, started);
    return started;
  };
  const startInstanceOnce = async (spec: AgentInstanceSpec, restoring: boolean): Promise<AgentInstanceState> => {
    const existing = supervisor.get(spec.id);
    if (existing && existing.state !== 'stopped') return view(existing);
    const port = spec.port ?? (await freePortExcept(portsGiven, DEFAULTS.proxy.host));
    const full = { ...spec, port };
    specs.set(spec.id, full);
    ports.set(spec.id, port);
    // Persisted by the 'spawn' event, once the child (and so its process group) exists.
    await supervisor.start({
      id: spec.id,
      cwd: spec.cwd,
      command: spec.command,
      env: { ...spec.env, ...spec.secretEnv, PORT: String(port), GANTRY_INSTANCE: spec.id },
      logFile: spec.logFile,
      ...(systemd ? { resources: spec.resources, adopt: restoring } : {}),
    });
    return view(supervisor.get(spec.id)!);
  };

  const view = (s: InstanceState): AgentInstanceState => {
    const spec = specs.get(s.id);
    return {
      id: s.id,
      release: spec?.release ?? '',
      port: ports.get(s.id) ?? 0,
      pid: s.pid,
      state: s.state,
      restarts: s.restarts,
      startedAt: s.startedAt,
      lastExit: s.lastExit,
      logFile: s.spec.logFile,
    };
  };

  supervisor.on('spawn', () => persist());
  supervisor.on('exit', (id: string, code: number | null, signal: string | null) => {
    log(`instance ${id} exited code=${code} signal=${signal}`);
    persist();
  });

  // Restore after a restart of the agent itself: orphans of the previous agent are
  // stopped (their log pipes died with it) and started again under this one.
  if (existsSync(stateFile)) {
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as AgentPersistedState;
    // Before anything is routed: a restarted agent must not serve the app while it is in maintenance.
    if (saved.maintenance) proxy.setMaintenance(saved.maintenance);
    const reaped = systemd ? [] : await reapOrphans(saved.instances);
    if (reaped.length) log(`stopped ${reaped.length} process group(s) left by the previous agent: ${reaped.join(', ')}`);
    // Secret values were never written down: those instances wait for the next Gantry command (which holds the secrets) to start them.
    // systemd units are adopted where they run, or started again with their env file (0600, secrets included).
    const restorable = systemd ? saved.instances : saved.instances.filter((i) => !i.hasSecrets);
    for (const inst of restorable) {
      // A port still held by something else (not ours to kill) would make the instance crash-loop while that answers for it.
      const port = !systemd && (await portInUse(inst.port, DEFAULTS.proxy.host)) ? await freePortExcept(portsGiven, DEFAULTS.proxy.host) : inst.port;
      const restoring = startInstance({ ...inst, port }, true);
      // One unit systemd refuses must not keep the agent (and the other instances' routes) down.
      await (systemd ? restoring.catch((e: Error) => log(`could not restore instance ${inst.id}: ${e.message}`)) : restoring);
    }
    for (const c of saved.containers ?? []) watcher.watch(c);
    // Nothing is routed until it passes its health gate: meanwhile the proxy holds requests (as during a recreate).
    for (const b of saved.backends) {
      const spec = specs.get(b.id);
      if (spec) {
        pending.set(b.id, { ...b, url: `http://${DEFAULTS.proxy.host}:${spec.port}` });
        const alive = (): boolean => specs.has(b.id) && pending.has(b.id) && ['starting', 'running', 'backoff'].includes(supervisor.get(b.id)?.state ?? 'stopped');
        const health = spec.health ?? FALLBACK_HEALTH;
        const req: AgentProbeRequest = { instance: b.id, endpoint: { host: DEFAULTS.proxy.host, port: spec.port }, health, where: { kind: 'host' } };
        void waitHealthy(health, () => probeInstance(req, docker), { alive }).then((v) => (v.ok ? resume(b.id) : log(`restored instance ${b.id} did not pass its health gate (${v.detail}); left unrouted`)));
      } else if (watcher.has(b.id)) {
        pending.set(b.id, b);
        void watcher.gate(b.id);
      }
    }
    persist();
    log(`restored ${restorable.length} instance(s), ${saved.containers?.length ?? 0} container(s) and ${pending.size} route(s) (routed once healthy); ${saved.instances.length - restorable.length} need secrets and wait for \`gantry start\``);
  }

  supervisor.on('restart', (id: string, attempt: number, delayMs: number) => {
    log(`instance ${id} restart #${attempt} in ${delayMs}ms`);
    persist();
  });

  // Instances kept warm after a switch, stopped when their time is up unless routed again.
  const stopTimers = new Map<string, NodeJS.Timeout>();
  const cancelStopLater = (ids: Iterable<string>): void => {
    for (const id of ids) {
      clearTimeout(stopTimers.get(id));
      stopTimers.delete(id);
    }
  };
  const stopNow = async (id: string, timeoutMs: number): Promise<InstanceState> => {
    cancelStopLater([id]);
    const st = await supervisor.stop(id, { timeoutMs });
    specs.delete(id);
    pending.delete(id);
    persist();
    return st;
  };

  // prom-client loads cluster, perf_hooks, v8 and more of Node's own modules: on an SSH host with
  // Debian's Node, which compiles its built-in modules at each start, that is CPU on every host of a
  // fleet at every agent start for an endpoint few scrape. Loaded at the first scrape instead.
  let metrics: Promise<import('prom-client').Registry> | undefined;
  const metricsRegistry = (): Promise<import('prom-client').Registry> =>
    (metrics ??= import('./metrics.js').then((m) => m.createMetrics(() => ({ stats: proxy.stats(), instances: supervisor.list() }))));
  const token = randomBytes(24).toString('hex');
  let shuttingDown = false;

  // A step of a shutdown that fails (its dir deleted under it, a full disk) must not leave the agent
  // running with shuttingDown set, deaf to every later signal: it exits all the same.
  const finallyExit = async (steps: () => Promise<void>): Promise<void> => {
    try {
      await steps();
    } catch (err) {
      log(`shutdown: ${(err as Error).message}`);
    } finally {
      setTimeout(() => process.exit(0), 50);
    }
  };
  const shutdown = async (timeoutMs: number): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    await finallyExit(async () => {
      pending.clear();
      watcher.stop();
      proxy.setBackends([]);
      cancelStopLater([...stopTimers.keys()]);
      await supervisor.stopAll({ timeoutMs });
      specs.clear();
      persist();
      await proxy.close();
      await accessLog.close().catch(() => undefined);
      rmSync(join(opts.dir, AGENT_INFO_FILE), { force: true });
      log('agent stopped');
    });
  };

  // `signal` aborts when the client hangs up before the answer (a wait for health it no longer needs).
  const routes: Record<string, (body: any, url: URL, signal: AbortSignal) => Promise<unknown>> = {
    'GET /v1/ping': async () => ({ pid: process.pid, proxy: proxyAddr }),
    'GET /v1/instances': async () => {
      await systemd?.refresh();
      return supervisor.list().filter((s) => specs.has(s.id)).map(view);
    },
    'POST /v1/instances': async (body: AgentInstanceSpec) => startInstance(body),
    'POST /v1/instances/stop': async (body: { id: string; timeoutMs: number }) => view(await stopNow(body.id, body.timeoutMs)),
    'POST /v1/instances/stop-later': async (body: { id: string; afterMs: number; timeoutMs: number }) => {
      cancelStopLater([body.id]);
      const t = setTimeout(() => {
        stopTimers.delete(body.id);
        if (proxy.backends().some((b) => b.id === body.id)) return;
        void stopNow(body.id, body.timeoutMs).then(() => log(`stopped warm instance ${body.id} after ${body.afterMs}ms`));
      }, body.afterMs);
      stopTimers.set(body.id, t);
      return { id: body.id, stopAt: new Date(Date.now() + body.afterMs).toISOString() };
    },
    'GET /v1/backends': async () => intended(),
    'POST /v1/containers': async (body: WatchedContainer) => {
      watcher.watch(body);
      persist();
      return { id: body.id };
    },
    'POST /v1/containers/forget': async (body: { id: string }) => {
      watcher.forget(body.id);
      pending.delete(body.id);
      persist();
      return { id: body.id };
    },
    'GET /v1/containers': async () => watcher.counts(),
    'PUT /v1/backends': async (body: { backends: AgentBackend[] }) => {
      cancelStopLater(body.backends.map((b) => b.id));
      // The command routing now probed what it routes: its set replaces any route still waiting for a gate.
      pending.clear();
      proxy.setBackends(body.backends);
      persist();
      return proxy.backends();
    },
    'PUT /v1/maintenance': async (body: { maintenance: AgentMaintenance | null }) => {
      proxy.setMaintenance(body.maintenance ?? undefined);
      persist();
      log(body.maintenance ? 'maintenance mode on: every request gets 503' : 'maintenance mode off');
      return { maintenance: proxy.maintenanceMode() ?? null };
    },
    'GET /v1/maintenance': async () => ({ maintenance: proxy.maintenanceMode() ?? null }),
    // A changed access port: listen there too (the old address keeps serving), and say so in the info file.
    'POST /v1/proxy/listen': async (body: { host: string; port: number }) => {
      try {
        proxyAddr = await proxy.listenAlso(body.host, body.port);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return { error: { code: e.code, message: e.message } };
      }
      info.proxyHost = proxyAddr.host;
      info.proxyPort = proxyAddr.port;
      writeJsonAtomic(join(opts.dir, AGENT_INFO_FILE), info);
      log(`proxy now also listens on ${proxyAddr.host}:${proxyAddr.port}`);
      return { proxy: proxyAddr, listening: proxy.addresses() };
    },
    // Once the move is done (the deploy that made it succeeded): after a short grace, stop listening where the app no longer is.
    'POST /v1/proxy/retire': async () => {
      const former = proxy.addresses().filter((a) => a.host !== proxyAddr.host || a.port !== proxyAddr.port);
      if (former.length === 0) return { closing: [], afterMs: 0 };
      const afterMs = DEFAULTS.proxy.formerAddressGraceMs;
      setTimeout(() => {
        void proxy.closeListenersExcept(proxyAddr.host, proxyAddr.port).then(() => log(`proxy stopped listening on ${former.map((a) => `${a.host}:${a.port}`).join(', ')}`));
      }, afterMs);
      return { closing: former, afterMs };
    },
    'PUT /v1/proxy': async (body: AgentProxyTimeouts) => {
      proxy.setTimeouts(body);
      return proxy.timeouts();
    },
    'POST /v1/drain': async (body: { ids: string[]; timeoutMs: number }) => Promise.all(body.ids.map((id) => proxy.drain(id, body.timeoutMs))),
    'POST /v1/health/probe': async (body: AgentProbeRequest) => probeInstance(body, docker),
    // Open until the verdict: healthy, given up, or the client gone (an aborted deploy).
    'POST /v1/health/wait': async (body: AgentProbeRequest, _url, signal) => waitHealthy(body.health, () => probeInstance(body, docker), { signal }),
    'GET /v1/stats': async () => proxy.stats(),
    'POST /v1/stats/reset': async () => {
      proxy.resetStats();
      return proxy.stats();
    },
    'POST /v1/shutdown': async (body: { timeoutMs: number }) => {
      setImmediate(() => void shutdown(body.timeoutMs ?? DEFAULTS.strategy.stopTimeoutMs));
      return { stopping: true };
    },
  };

  const admin = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://agent');
    if (req.method === 'GET' && url.pathname === '/metrics') {
      const registry = await metricsRegistry();
      res.writeHead(200, { 'content-type': registry.contentType });
      res.end(await registry.metrics());
      return;
    }
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401).end();
      return;
    }
    const handler = routes[`${req.method} ${url.pathname}`];
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    const hangUp = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) hangUp.abort();
    });
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      const out = await handler(body, url, hangUp.signal);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(out ?? null));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: (err as Error).message }));
    }
  });
  admin.keepAliveTimeout = DEFAULTS.agent.adminKeepAliveMs;
  await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
  const adminAddr = admin.address();
  // A port change (POST /v1/proxy/listen) rewrites its proxy address.
  const info: AgentInfo = {
    pid: process.pid,
    adminPort: typeof adminAddr === 'object' && adminAddr ? adminAddr.port : 0,
    proxyHost: proxyAddr.host,
    proxyPort: proxyAddr.port,
    token,
    startedAt: new Date().toISOString(),
  };
  writeJsonAtomic(join(opts.dir, AGENT_INFO_FILE), info);
  log(`agent ${process.pid} ready: proxy http://${proxyAddr.host}:${proxyAddr.port}, admin 127.0.0.1:${info.adminPort}`);

  // Under systemd the instances are units of their own: stopping or restarting the agent leaves them serving (a new agent adopts them).
  const detach = async (): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    await finallyExit(async () => {
      systemd?.detach();
      persist();
      await proxy.close();
      await accessLog.close().catch(() => undefined);
      rmSync(join(opts.dir, AGENT_INFO_FILE), { force: true });
      log('agent stopped; instance units left running');
    });
  };
  const onSignal = (): void => void (systemd ? detach() : shutdown(DEFAULTS.strategy.stopTimeoutMs));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('uncaughtException', (err) => log(`uncaught: ${err.stack ?? err.message}`));
}
