/**
 * CLI-side client of the host agent: finds or starts the detached agent for a
 * directory and calls its admin API. Used by targets that route through
 * Gantry's proxy; the engine never sees it.
 */
import { pidAlive } from '../core/pid.js';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { daemonEnv } from '../core/env.js';
import { localRequest } from './local-request.js';
import { GantryError } from '../core/errors.js';
import { DEFAULTS } from '../core/defaults.js';
import {
  AGENT_ERROR_FILE,
  AGENT_INFO_FILE,
  AGENT_LOG_FILE,
  type AgentBackend,
  type AgentInfo,
  type AgentInstanceSpec,
  type AgentInstanceState,
  type AgentMaintenance,
  type AgentHealthVerdict,
  type AgentProbeRequest,
  type AgentProbeResult,
  type AgentProxyTimeouts,
  type WatchedContainer,
} from './protocol.js';

// launch.cjs runs the bundled agent with V8's code cache (else main.js): ready sooner after the spawn.
// undici carries the calls to a remote agent (over an SSH channel: a dispatcher of its own) and
// loads only then; a local agent is called with Node's own client (local-request.ts).
let undici: Promise<typeof import('undici')> | undefined;

/** A request to a remote agent through its transport's dispatcher. */
async function remoteRequest(url: string, o: { method: string; headers: Record<string, string>; body?: string; timeout: number; signal?: AbortSignal; dispatcher: Dispatcher }): Promise<{ statusCode: number; text: string }> {
  const { request } = await (undici ??= import('undici'));
  const res = await request(url, { method: o.method as Dispatcher.HttpMethod, headers: o.headers, body: o.body, headersTimeout: o.timeout, bodyTimeout: o.timeout, signal: o.signal, dispatcher: o.dispatcher });
  return { statusCode: res.statusCode, text: await res.body.text() };
}

const AGENT_MAIN = fileURLToPath(new URL('./launch.cjs', import.meta.url));

/** The file `AgentClient.ensure` runs with node to start a local agent. */
export const agentEntry = (): string => AGENT_MAIN;

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The request's connection closed or was reset before an answer: not a timeout, not a refusal. */
function connectionBroke(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * How to reach an agent that is not on this machine (an SSH host): a dispatcher whose
 * connections go there (a forwarded channel), how to tell it has exited, and where its log is.
 */
export interface AgentTransport {
  dispatcher: Dispatcher;
  gone(): Promise<boolean>;
  logHint: string;
  /** Where the agent runs (a host), named in errors of the transport itself (a connection lost). */
  where?: string;
}

export class AgentClient {
  private constructor(
    readonly dir: string,
    public info: AgentInfo,
    private readonly transport?: AgentTransport,
  ) {}

  /** A client of an agent reached through `transport` (its info read there); answers ping or throws. */
  static async remote(dir: string, info: AgentInfo, transport: AgentTransport): Promise<AgentClient> {
    const client = new AgentClient(dir, info, transport);
    await client.call('GET', '/v1/ping');
    return client;
  }

  private logHint(): string {
    return this.transport?.logHint ?? `see ${join(this.dir, AGENT_LOG_FILE)}`;
  }

  get proxyUrl(): string {
    return `http://${this.info.proxyHost}:${this.info.proxyPort}`;
  }

  /** The running agent for dir, if any (no side effects). */
  static async find(dir: string): Promise<AgentClient | undefined> {
    const info = readJson<AgentInfo>(join(dir, AGENT_INFO_FILE));
    if (!info || !pidAlive(info.pid)) return undefined;
    const client = new AgentClient(dir, info);
    try {
      await client.call('GET', '/v1/ping');
      return client;
    } catch {
      return undefined;
    }
  }

  /** The running agent for dir, started (detached) when absent. */
  static async ensure(dir: string, proxy: { host: string; port: number }): Promise<AgentClient> {
    const found = await AgentClient.find(dir);
    if (found) return found;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const logFd = openSync(join(dir, AGENT_LOG_FILE), 'a', 0o600);
    const child = spawn(process.execPath, [agentEntry(), '--dir', dir, '--host', proxy.host, '--port', String(proxy.port)], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: daemonEnv({ GANTRY_AGENT: '1' }),
    });
    child.unref();
    closeSync(logFd);
    const pid = child.pid!;
    const deadline = Date.now() + DEFAULTS.agent.startTimeoutMs;
    while (Date.now() < deadline) {
      const info = readJson<AgentInfo>(join(dir, AGENT_INFO_FILE));
      if (info && info.pid === pid) return new AgentClient(dir, info);
      if (!pidAlive(pid)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const err = readJson<{ code?: string; message: string; port: number }>(join(dir, AGENT_ERROR_FILE));
    if (err?.code === 'EADDRINUSE') {
      throw new GantryError('PORT_IN_USE', `port ${proxy.host}:${err.port} is already in use, so Gantry's proxy cannot serve the app there`, `stop whatever listens on ${err.port} (ss -ltnp 'sport = :${err.port}') or set another "port" under the target in gantry.yaml`);
    }
    throw new GantryError('AGENT_UNREACHABLE', `the Gantry agent did not start${err ? `: ${err.message}` : ''}`, `see ${join(dir, AGENT_LOG_FILE)}`);
  }

  /** `opts.waitMs`: how long the agent may legitimately take to answer (default: the body's `timeoutMs`); `opts.signal` hangs up. */
  async call<T = unknown>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, opts: { waitMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    // Drains, stops and health waits may legitimately take as long as the manifest allows: wait for that plus a margin.
    const timeout = Math.max(DEFAULTS.agent.requestTimeoutMs, (opts.waitMs ?? (body as { timeoutMs?: number } | undefined)?.timeoutMs ?? 0) + DEFAULTS.agent.requestTimeoutMs);
    const headers = { authorization: `Bearer ${this.info.token}`, 'content-type': 'application/json' };
    const json = body === undefined ? undefined : JSON.stringify(body);
    let res: { statusCode: number; text: string };
    for (let attempt = 1; ; attempt++) {
      try {
        res = this.transport
          ? await remoteRequest(`http://127.0.0.1:${this.info.adminPort}${path}`, { method, headers, body: json, timeout, signal: opts.signal, dispatcher: this.transport.dispatcher })
          : await localRequest({ port: this.info.adminPort, method, path, headers, body: json, timeoutMs: timeout, signal: opts.signal });
        break;
      } catch (err) {
        // A remote agent's way there broke (the host went away): say which host, not just "closed".
        if (this.transport?.where === undefined || opts.signal?.aborted || err instanceof GantryError) throw err;
        // Only the connection broke (the SSH channel closed under it): every agent call is idempotent, so send it once more.
        if (attempt === 1 && connectionBroke(err)) {
          await new Promise((r) => setTimeout(r, DEFAULTS.agent.resendAfterMs));
          continue;
        }
        throw new GantryError('AGENT_UNREACHABLE', `the agent on ${this.transport.where} did not answer ${method} ${path}${attempt > 1 ? ' (sent twice)' : ''}: ${(err as Error).message}`, `check that ${this.transport.where} is up and reachable, then run the command again`);
      }
    }
    const text = res.text;
    if (res.statusCode === 404) {
      // An agent started by an older Gantry keeps running across an upgrade; it lacks what was added since.
      throw new GantryError('AGENT_UNREACHABLE', `the running Gantry agent (pid ${this.info.pid}) does not know ${method} ${path}: it was started by an older Gantry`, '`gantry stop` then `gantry start` (or a deploy) starts a current agent');
    }
    if (res.statusCode !== 200) {
      const msg = text ? ((JSON.parse(text) as { message?: string }).message ?? text) : `HTTP ${res.statusCode}`;
      throw new GantryError('AGENT_UNREACHABLE', `agent ${path}: ${msg}`, this.logHint());
    }
    return JSON.parse(text) as T;
  }

  startInstance(spec: AgentInstanceSpec): Promise<AgentInstanceState> {
    return this.call('POST', '/v1/instances', spec);
  }
  stopInstance(id: string, timeoutMs: number): Promise<AgentInstanceState> {
    return this.call('POST', '/v1/instances/stop', { id, timeoutMs });
  }
  stopInstanceLater(id: string, afterMs: number, timeoutMs: number): Promise<unknown> {
    return this.call('POST', '/v1/instances/stop-later', { id, afterMs, timeoutMs });
  }
  watchContainer(c: WatchedContainer): Promise<unknown> {
    return this.call('POST', '/v1/containers', c);
  }
  forgetContainer(id: string): Promise<unknown> {
    return this.call('POST', '/v1/containers/forget', { id });
  }
  /** Restarts the agent made of each watched container. */
  containerRestarts(): Promise<Array<{ id: string; restarts: number }>> {
    return this.call('GET', '/v1/containers');
  }
  /** One health probe, run by the agent where the instance is. */
  probe(req: AgentProbeRequest): Promise<AgentProbeResult> {
    return this.call('POST', '/v1/health/probe', req, { waitMs: req.health.timeoutMs });
  }
  /** The agent probes until healthy or it gives up; aborting `signal` hangs up, which ends the agent's loop. */
  waitHealthy(req: AgentProbeRequest, signal?: AbortSignal): Promise<AgentHealthVerdict> {
    const h = req.health;
    return this.call('POST', '/v1/health/wait', req, { waitMs: h.startPeriodMs + h.retries * h.intervalMs + h.intervalMs + h.timeoutMs, signal });
  }
  resetStats(): Promise<unknown> {
    return this.call('POST', '/v1/stats/reset', {});
  }
  instances(): Promise<AgentInstanceState[]> {
    return this.call('GET', '/v1/instances');
  }
  backends(): Promise<AgentBackend[]> {
    return this.call('GET', '/v1/backends');
  }
  setBackends(backends: AgentBackend[]): Promise<AgentBackend[]> {
    return this.call('PUT', '/v1/backends', { backends });
  }
  setProxyTimeouts(t: AgentProxyTimeouts): Promise<AgentProxyTimeouts> {
    return this.call('PUT', '/v1/proxy', t);
  }
  setMaintenance(maintenance: AgentMaintenance | undefined): Promise<{ maintenance: AgentMaintenance | null }> {
    return this.call('PUT', '/v1/maintenance', { maintenance: maintenance ?? null });
  }
  maintenance(): Promise<{ maintenance: AgentMaintenance | null }> {
    return this.call('GET', '/v1/maintenance');
  }
  /** The proxy also listens on host:port (the old address keeps serving until `retireProxyListeners`); this client's URL follows. */
  async listenProxy(host: string, port: number): Promise<void> {
    const r = await this.call<{ proxy?: { host: string; port: number }; error?: { code?: string; message: string } }>('POST', '/v1/proxy/listen', { host, port });
    if (r.error) {
      if (r.error.code === 'EADDRINUSE') throw new GantryError('PORT_IN_USE', `port ${host}:${port} is already in use, so Gantry's proxy cannot move the app there`, `stop whatever listens on ${port} (ss -ltnp 'sport = :${port}') or set another "port" under the target in gantry.yaml`);
      throw new GantryError('AGENT_UNREACHABLE', `the agent's proxy could not listen on ${host}:${port}: ${r.error.message}`, this.logHint());
    }
    this.info = { ...this.info, proxyHost: r.proxy!.host, proxyPort: r.proxy!.port };
  }
  /** Stop listening anywhere but the current proxy address (after a short grace). */
  retireProxyListeners(): Promise<{ closing: Array<{ host: string; port: number }>; afterMs: number }> {
    return this.call('POST', '/v1/proxy/retire', {});
  }
  drain(ids: string[], timeoutMs: number): Promise<unknown> {
    return this.call('POST', '/v1/drain', { ids, timeoutMs });
  }
  stats(): Promise<{ releases: Array<{ release: string; requests: number; errors5xx: number; connectErrors: number; inflight: number; p50Ms: number; p90Ms: number; p99Ms: number; errorRate: number }> }> {
    return this.call('GET', '/v1/stats');
  }

  /** Stop every instance and the proxy; waits until the agent process is gone. */
  async shutdown(timeoutMs: number): Promise<void> {
    await this.call('POST', '/v1/shutdown', { timeoutMs });
    const deadline = Date.now() + timeoutMs + 5_000;
    const gone = this.transport ? () => this.transport!.gone() : async () => !pidAlive(this.info.pid);
    while (!(await gone()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, this.transport ? 250 : 50));
  }

  static hasState(dir: string): boolean {
    return existsSync(join(dir, AGENT_INFO_FILE));
  }
}
