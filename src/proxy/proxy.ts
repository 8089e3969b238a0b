import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import { clientResponseHeaders, forwardContext, forwardRequestHeaders, type ForwardContext } from './headers.js';
import { answerMaintenance, refuseUpgradeForMaintenance, type MaintenanceMode } from './maintenance.js';
import { ReleaseCounters, type ReleaseStats } from './stats.js';
import { proxyUpgrade } from './upgrade.js';
import { undici, undiciIfLoaded } from './undici-lazy.js';
import { SmoothWeighted } from './weighted.js';

export interface Backend {
  id: string;
  release: string;
  /** Origin of the app, e.g. http://127.0.0.1:41234 (any path is ignored). */
  url: string;
  /** >= 0, relative to the other backends; 0 = not routed. */
  weight: number;
}

export interface ProxyOptions {
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** Keep incoming X-Forwarded-Proto/-Host (only when a trusted TLS terminator sits in front). Default false. */
  trustForwardedHeaders?: boolean;
  /** Upper bound for close() to wait for in-flight requests before cutting connections. */
  closeTimeoutMs?: number;
  /** Time from sending a request to the app's first response byte; past it the client gets 504 (0 = none). */
  responseTimeoutMs?: number;
  /** A response body with no bytes moving in either direction this long is cut (0 = none). */
  idleTimeoutMs?: number;
  /**
   * While no backend is routed (a recreate or exclusive deploy between stop and
   * start), hold new requests up to this long instead of answering 503. 0 = never hold.
   */
  holdTimeoutMs?: number;
  /** Called once per request when its response ends (the access log); off when absent. */
  onAccess?: (e: AccessEntry) => void;
}

/** One request as the access log records it: the path without its query (which may carry tokens). */
export interface AccessEntry {
  at: string;
  method: string;
  path: string;
  /** 0 when the client went away before a status was sent. */
  status: number;
  ms: number;
  instance?: string;
  release?: string;
}

/** Access log times: a fresh ISO string at most once per millisecond (many requests share one). */
let isoMs = 0;
let isoText = '';
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** The settings a manifest may change on a running proxy. */
export interface ProxyTimeouts {
  responseTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface ProxyStatsSnapshot {
  releases: ReleaseStats[];
  backends: Array<{ id: string; release: string; inflight: number; requests: number }>;
}

/** One backend as the proxy tracks it. Replaced (never mutated) when its url or release changes. */
export interface BackendEntry {
  readonly id: string;
  readonly release: string;
  readonly url: string;
  readonly hostname: string;
  readonly port: number;
  weight: number;
  readonly origin: string;
  /** Its connections upstream: made on the first request to it (see undici-lazy.ts). */
  pool: Pool | undefined;
  readonly stats: ReleaseCounters;
  inflight: number;
  requests: number;
  /** False once setBackends removed it: it only finishes what it has. */
  routed: boolean;
}

export const NO_BACKEND_BODY = 'no healthy release is routed';

/** Errors where the app cannot have answered; safe to retry for a request whose body was not sent. */
const CONNECT_ERRORS: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** Refused = nothing listens there; the other codes may be a stale keep-alive socket of a live app. */
function isRefused(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'ECONNREFUSED';
}

export function isConnectError(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code !== undefined && CONNECT_ERRORS.has(code);
}

export class GantryProxy {
  private readonly host: string;
  private readonly port: number;
  /** The listener the proxy was made with. */
  private readonly server: http.Server;
  /**
   * Every listener by "host:port": after a port change the proxy listens on the new
   * address before the old one stops (see listenAlso / closeListenersExcept).
   */
  private readonly listeners = new Map<string, http.Server>();
  private maintenance: MaintenanceMode | undefined;
  private readonly closeTimeoutMs: number;
  /** @internal read by Exchange and upgrade */
  responseTimeoutMs: number;
  /** @internal read by Exchange and upgrade */
  idleTimeoutMs: number;
  /** @internal read by Exchange and upgrade */
  readonly trustForwarded: boolean;
  /** @internal */
  readonly connectRetries = DEFAULTS.proxy.connectRetries;

  private current: Backend[] = [];
  private table = new SmoothWeighted<BackendEntry>([]);
  private readonly active = new Map<string, BackendEntry>();
  /** Removed entries that still had requests in flight. */
  private readonly retired = new Set<BackendEntry>();
  private readonly releases = new Map<string, ReleaseCounters>();
  private readonly drainWaiters = new Map<string, Set<() => void>>();
  private readonly upgradeSockets = new Set<Duplex>();
  private readonly holdTimeoutMs: number;
  /** @internal read by Exchange, which writes the access log line of the requests it carries */
  readonly onAccess?: (e: AccessEntry) => void;
  /** Requests waiting for a backend to be routed, oldest first. */
  private held: HeldRequest[] = [];
  private closed = false;

  constructor(opts: ProxyOptions) {
    this.host = opts.host ?? DEFAULTS.proxy.host;
    this.port = opts.port;
    this.trustForwarded = opts.trustForwardedHeaders ?? false;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? DEFAULTS.strategy.drainTimeoutMs;
    this.responseTimeoutMs = opts.responseTimeoutMs ?? DEFAULTS.proxy.responseTimeoutMs;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? DEFAULTS.proxy.idleTimeoutMs;
    this.holdTimeoutMs = opts.holdTimeoutMs ?? DEFAULTS.proxy.holdTimeoutMs;
    this.onAccess = opts.onAccess;
    this.server = this.createServer();
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => this.handleUpgrade(req, socket, head));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Malformed request or a client that went away: answer 400 if we still can, never throw.
      if (err.code !== 'ECONNRESET' && socket.writable && !(socket as Socket).destroyed) {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      } else {
        socket.destroy();
      }
    });
    return server;
  }

  listen(): Promise<{ host: string; port: number }> {
    return this.listenOn(this.server, this.host, this.port);
  }

  private listenOn(server: http.Server, host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        const addr = server.address() as AddressInfo;
        this.listeners.set(`${addr.address}:${addr.port}`, server);
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Also accept on host:port (a changed access port), with the same routes; a no-op when already listening there. */
  async listenAlso(host: string, port: number): Promise<{ host: string; port: number }> {
    if (this.listeners.has(`${host}:${port}`)) return { host, port };
    return this.listenOn(this.createServer(), host, port);
  }

  /** Where the proxy accepts now. */
  addresses(): Array<{ host: string; port: number }> {
    return [...this.listeners.keys()].map((k) => ({ host: k.slice(0, k.lastIndexOf(':')), port: Number(k.slice(k.lastIndexOf(':') + 1)) }));
  }

  /**
   * Stop accepting anywhere but host:port: those listeners close gracefully (their
   * in-flight requests finish, bounded by closeTimeoutMs, then their connections are cut).
   */
  async closeListenersExcept(host: string, port: number): Promise<void> {
    const keep = `${host}:${port}`;
    if (!this.listeners.has(keep)) return;
    await Promise.all(
      [...this.listeners].filter(([k]) => k !== keep).map(async ([k, server]) => {
        this.listeners.delete(k);
        await this.closeServer(server);
      }),
    );
  }

  private async closeServer(server: http.Server): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.closeTimeoutMs)));
    if (await Promise.race([closed.then(() => false), timedOut])) {
      server.closeAllConnections();
      await closed;
    }
    clearTimeout(timer);
  }

  /** Maintenance mode on (every request gets the 503 page) or off (undefined). */
  setMaintenance(m: MaintenanceMode | undefined): void {
    this.maintenance = m;
  }

  maintenanceMode(): MaintenanceMode | undefined {
    return this.maintenance;
  }

  /** Atomically replaces the routing table. Removed backends finish their in-flight requests. */
  setBackends(backends: Backend[]): void {
    const seen = new Set<string>();
    for (const b of backends) validateBackend(b, seen);
    const next = new Map<string, BackendEntry>();
    for (const b of backends) {
      const old = this.active.get(b.id);
      let entry: BackendEntry;
      if (old !== undefined && old.url === b.url && old.release === b.release) {
        entry = old;
      } else {
        entry = this.reviveRetired(b) ?? this.createEntry(b);
      }
      entry.weight = b.weight;
      entry.routed = true;
      next.set(b.id, entry);
    }
    const removed: BackendEntry[] = [];
    for (const [id, entry] of this.active) if (next.get(id) !== entry) removed.push(entry);

    // The swap: from here on new requests see only the new table.
    this.active.clear();
    for (const [id, entry] of next) this.active.set(id, entry);
    this.table = new SmoothWeighted([...next.values()]);
    this.current = backends.map((b) => ({ id: b.id, release: b.release, url: b.url, weight: b.weight }));

    for (const entry of removed) {
      entry.routed = false;
      if (entry.inflight === 0) this.closeEntry(entry);
      else this.retired.add(entry);
    }
    this.releaseHeld();
  }

  /** Requests held while nothing was routed go out as soon as something is. */
  private releaseHeld(): void {
    if (this.held.length === 0) return;
    const waiting = this.held;
    this.held = [];
    for (const h of waiting) {
      clearTimeout(h.timer);
      if (h.res.destroyed || h.res.writableEnded) continue;
      const entry = this.table.pick();
      if (entry === undefined) this.held.push(h);
      else {
        h.handedOver = true;
        new Exchange(this, h.req, h.res, h.t0).start(entry);
      }
    }
    for (const h of this.held) h.timer = this.holdTimer(h.res);
  }

  private holdTimer(res: http.ServerResponse): NodeJS.Timeout {
    return setTimeout(() => {
      this.held = this.held.filter((h) => h.res !== res);
      noBackend(res);
    }, this.holdTimeoutMs);
  }

  /** New timeouts apply to requests that start from now on. */
  setTimeouts(t: ProxyTimeouts): void {
    for (const v of [t.responseTimeoutMs, t.idleTimeoutMs]) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new GantryError('INTERNAL', `invalid proxy timeout ${JSON.stringify(v)}: expected milliseconds >= 0`);
    }
    this.responseTimeoutMs = t.responseTimeoutMs;
    this.idleTimeoutMs = t.idleTimeoutMs;
  }

  timeouts(): ProxyTimeouts {
    return { responseTimeoutMs: this.responseTimeoutMs, idleTimeoutMs: this.idleTimeoutMs };
  }

  backends(): Backend[] {
    return this.current.map((b) => ({ ...b }));
  }

  inflight(backendId: string): number {
    let n = this.active.get(backendId)?.inflight ?? 0;
    for (const e of this.retired) if (e.id === backendId) n += e.inflight;
    return n;
  }

  /**
   * Waits until the backend's in-flight requests reach 0 (or the timeout).
   * If the caller has not removed it from the table yet, it is removed first,
   * since a routed backend keeps receiving new requests.
   */
  drain(backendId: string, timeoutMs: number): Promise<{ drained: boolean; inflight: number }> {
    if (this.active.has(backendId)) this.setBackends(this.current.filter((b) => b.id !== backendId));
    if (this.inflight(backendId) === 0) return Promise.resolve({ drained: true, inflight: 0 });
    return new Promise((resolve) => {
      let waiters = this.drainWaiters.get(backendId);
      if (waiters === undefined) this.drainWaiters.set(backendId, (waiters = new Set()));
      const set = waiters;
      const done = (): void => {
        if (this.inflight(backendId) !== 0) return;
        clearTimeout(timer);
        this.removeWaiter(backendId, set, done);
        resolve({ drained: true, inflight: 0 });
      };
      const timer = setTimeout(() => {
        this.removeWaiter(backendId, set, done);
        resolve({ drained: false, inflight: this.inflight(backendId) });
      }, timeoutMs);
      set.add(done);
    });
  }

  stats(): ProxyStatsSnapshot {
    const backends: ProxyStatsSnapshot['backends'] = [];
    for (const e of this.active.values()) backends.push({ id: e.id, release: e.release, inflight: e.inflight, requests: e.requests });
    for (const e of this.retired) backends.push({ id: e.id, release: e.release, inflight: e.inflight, requests: e.requests });
    return { releases: [...this.releases.values()].map((r) => r.snapshot()), backends };
  }

  /** Zeroes counters and latencies (in-flight gauges are kept); forgets releases no backend refers to. */
  resetStats(): void {
    const referenced = new Set<ReleaseCounters>();
    for (const e of this.active.values()) {
      e.requests = 0;
      referenced.add(e.stats);
    }
    for (const e of this.retired) {
      e.requests = 0;
      referenced.add(e.stats);
    }
    for (const [name, counters] of this.releases) {
      if (referenced.has(counters) || counters.inflight > 0) counters.reset();
      else this.releases.delete(name);
    }
  }

  /** Stops accepting, lets in-flight requests finish (bounded by closeTimeoutMs), then closes everything. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.upgradeSockets) s.destroy();
    for (const h of this.held.splice(0)) {
      clearTimeout(h.timer);
      noBackend(h.res);
    }
    const servers = this.listeners.size ? [...this.listeners.values()] : [this.server];
    this.listeners.clear();
    await Promise.all(servers.map((server) => this.closeServer(server)));
    const entries = [...this.active.values(), ...this.retired];
    this.active.clear();
    this.retired.clear();
    this.table = new SmoothWeighted<BackendEntry>([]);
    await Promise.all(entries.map((e) => e.pool?.destroy().catch(() => undefined)));
  }

  // ---- used by Exchange and upgrade ----------------------------------------------------------

  /** @internal Next backend; `exclude` holds those that failed to connect for this request. */
  pick(exclude?: ReadonlySet<BackendEntry>, lastError?: unknown): BackendEntry | undefined {
    const entry = this.table.pick(exclude);
    // Nothing else left: a reset (not a refusal) is usually a stale pooled socket of a live
    // app, so one more try on the same backend gets a fresh connection.
    if (entry === undefined && exclude !== undefined && lastError !== undefined && !isRefused(lastError)) return this.table.pick();
    return entry;
  }

  /** @internal */
  begin(entry: BackendEntry): void {
    entry.inflight++;
    entry.requests++;
    entry.stats.inflight++;
    entry.stats.requests++;
  }

  /** @internal */
  end(entry: BackendEntry): void {
    entry.inflight--;
    entry.stats.inflight--;
    if (entry.inflight === 0 && !entry.routed) {
      if (this.retired.delete(entry)) this.closeEntry(entry);
      const waiters = this.drainWaiters.get(entry.id);
      if (waiters !== undefined) for (const w of [...waiters]) w();
    }
  }

  /** @internal */
  forwardContext(socket: Socket): ForwardContext {
    return forwardContext(socket.remoteAddress, 'http', this.trustForwarded);
  }

  /**
   * @internal An Upgrade answered without a 101: the client's connection is plain
   * HTTP again, so it goes back to the server (with what the client already sent).
   */
  resumeHttp(socket: Duplex, unread: Buffer, listener: (...args: any[]) => void): void {
    this.upgradeSockets.delete(socket);
    socket.off('error', listener);
    if (this.closed) {
      socket.end();
      return;
    }
    if (unread.length > 0) socket.unshift(unread);
    // Every listener has the same handlers: any of them serves the connection.
    (this.listeners.values().next().value ?? this.server).emit('connection', socket);
  }

  // ---- internals -------------------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const t0 = performance.now();
    if (this.maintenance) {
      if (this.onAccess) this.logOnClose(req, res, t0, undefined);
      answerMaintenance(res, this.maintenance);
      return;
    }
    const entry = this.table.pick();
    if (entry !== undefined) {
      // The hot path: the exchange writes the access log line from its own close listener.
      new Exchange(this, req, res, t0).start(entry);
      return;
    }
    if (this.holdTimeoutMs > 0 && this.current.length === 0 && this.held.length < DEFAULTS.proxy.maxHeldRequests && !this.closed) {
      req.pause();
      const h: HeldRequest = { req, res, t0, handedOver: false, timer: this.holdTimer(res) };
      // Logged here unless an exchange took the request over (it logs then).
      if (this.onAccess) this.logOnClose(req, res, t0, h);
      this.held.push(h);
      return;
    }
    if (this.onAccess) this.logOnClose(req, res, t0, undefined);
    noBackend(res);
  }

  /** The access log line of a request no exchange carries (maintenance, no backend, still held). */
  private logOnClose(req: http.IncomingMessage, res: http.ServerResponse, t0: number, held: HeldRequest | undefined): void {
    res.once('close', () => {
      if (held?.handedOver !== true) this.logAccess(req, res, t0, undefined);
    });
  }

  /** @internal One access log line, when the response is over; `b` served (or last tried) it. */
  logAccess(req: http.IncomingMessage, res: http.ServerResponse, t0: number, b: BackendEntry | undefined): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = (q < 0 ? url : url.slice(0, q)).slice(0, 512);
    this.onAccess?.({ at: isoNow(), method: (req.method ?? 'GET').slice(0, 16), path, status: res.headersSent ? res.statusCode : 0, ms: Math.round((performance.now() - t0) * 10) / 10, instance: b?.id, release: b?.release });
  }

  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.maintenance) {
      refuseUpgradeForMaintenance(socket, this.maintenance);
      return;
    }
    this.upgradeSockets.add(socket);
    socket.once('close', () => this.upgradeSockets.delete(socket));
    proxyUpgrade(this, req, socket, head);
  }

  private createEntry(b: Backend): BackendEntry {
    const u = new URL(b.url);
    let stats = this.releases.get(b.release);
    if (stats === undefined) this.releases.set(b.release, (stats = new ReleaseCounters(b.release)));
    return {
      id: b.id,
      release: b.release,
      url: b.url,
      hostname: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 80),
      weight: b.weight,
      origin: u.origin,
      pool: undefined,
      stats,
      inflight: 0,
      requests: 0,
      routed: true,
    };
  }

  /** A backend removed and re-added (same id, url, release) while still draining keeps its pool. */
  private reviveRetired(b: Backend): BackendEntry | undefined {
    for (const e of this.retired) {
      if (e.id === b.id && e.url === b.url && e.release === b.release) {
        this.retired.delete(e);
        return e;
      }
    }
    return undefined;
  }

  private closeEntry(entry: BackendEntry): void {
    entry.pool?.close().catch(() => undefined);
  }

  private removeWaiter(id: string, set: Set<() => void>, fn: () => void): void {
    set.delete(fn);
    if (set.size === 0 && this.drainWaiters.get(id) === set) this.drainWaiters.delete(id);
  }
}

interface HeldRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  timer: NodeJS.Timeout;
  /** When the request arrived (access log). */
  t0: number;
  /** An exchange carries it now (and writes its access log line). */
  handedOver: boolean;
}

function noBackend(res: http.ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'content-length': NO_BACKEND_BODY.length, 'x-gantry-error': 'no-backend' });
  res.end(NO_BACKEND_BODY);
}

function validateBackend(b: Backend, seen: Set<string>): void {
  const bad = (why: string): never => {
    throw new GantryError('INTERNAL', `invalid proxy backend ${JSON.stringify(b?.id)}: ${why}`);
  };
  if (typeof b?.id !== 'string' || b.id === '') bad('id must be a non-empty string');
  if (seen.has(b.id)) bad('duplicate id');
  seen.add(b.id);
  if (typeof b.release !== 'string') bad('release must be a string');
  if (typeof b.weight !== 'number' || !Number.isFinite(b.weight) || b.weight < 0) bad('weight must be a finite number >= 0');
  let u: URL | undefined;
  try {
    u = new URL(b.url);
  } catch {
    bad(`url ${JSON.stringify(b.url)} is not a URL`);
  }
  if (u!.protocol !== 'http:') bad(`url ${b.url} must be http://`);
}

/**
 * One client request and its attempts upstream. It is its own undici dispatch
 * handler, so a request costs one object plus the header list. It speaks undici's
 * callback API (onConnect/onHeaders/onData/onComplete/onError): undici 7's core runs
 * it as is, and it is the only one undici 6 has, which the node agent bundles for
 * hosts whose Node is 18 (Debian 12's).
 */
class Exchange {
  private entry!: BackendEntry;
  private abortUpstream: ((reason: Error) => void) | undefined;
  private resumeUpstream: (() => void) | undefined;
  private readonly headers: string[];
  private readonly hasBody: boolean;
  private readonly startedAt = performance.now();
  private tried: Set<BackendEntry> | undefined;
  private attempts = 0;
  /** onConnect ran for the current attempt: a body may have started streaming. */
  private connected = false;
  private status = 0;
  private clientGone = false;
  private done = false;
  private drainHooked = false;
  /** While paused for a slow client: cuts the response if the client reads nothing for the idle timeout. */
  private stallTimer: NodeJS.Timeout | undefined;
  private stallBytes = 0;

  constructor(
    private readonly proxy: GantryProxy,
    private readonly req: http.IncomingMessage,
    private readonly res: http.ServerResponse,
    /** When the request arrived (access log). */
    private readonly t0: number,
  ) {
    const fwd = forwardRequestHeaders(req.rawHeaders, proxy.forwardContext(req.socket));
    this.headers = fwd.headers;
    this.hasBody = fwd.hasBody;
  }

  start(entry: BackendEntry): void {
    this.res.on('close', this.onResponseClose);
    // The agent's first proxied request may come before undici has loaded: it waits for it once.
    if (undiciIfLoaded()) this.dispatch(entry);
    else
      undici().then(
        () => this.dispatch(entry),
        () => {
          // Nothing was sent upstream (no backend counted it in flight): only the client is answered.
          this.done = true;
          this.reply(502, 'upstream-error', 'the proxy could not load its HTTP client');
        },
      );
  }

  private dispatch(entry: BackendEntry): void {
    this.entry = entry;
    this.abortUpstream = undefined;
    this.resumeUpstream = undefined;
    this.connected = false;
    this.attempts++;
    this.proxy.begin(entry);
    // pipelining 1 = plain keep-alive; connections are unbounded so the pool follows client concurrency.
    entry.pool ??= new (undiciIfLoaded()!.Pool)(entry.origin, { pipelining: 1, keepAliveTimeout: 4_000 });
    // Errors (also synchronous ones) arrive through onError.
    entry.pool.dispatch(
      {
        path: this.req.url ?? '/',
        method: this.req.method ?? 'GET',
        headers: this.headers,
        body: this.hasBody ? this.req : null,
        headersTimeout: this.proxy.responseTimeoutMs,
        bodyTimeout: this.proxy.idleTimeoutMs,
      },
      this as unknown as Dispatcher.DispatchHandler,
    );
  }

  onConnect(abort: (reason: Error) => void): void {
    this.abortUpstream = abort;
    this.connected = true;
    if (this.clientGone) abort(new Error('client closed the connection'));
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusMessage?: string): boolean {
    if (statusCode < 200) return true; // 1xx informational: not forwarded
    this.resumeUpstream = resume;
    this.status = statusCode;
    if (statusCode >= 500) this.entry.stats.errors5xx++;
    if (this.clientGone) return true;
    try {
      const out = clientResponseHeaders(rawHeaders, this.entry.release);
      if (statusMessage) this.res.writeHead(statusCode, statusMessage, out);
      else this.res.writeHead(statusCode, out);
    } catch (err) {
      // Node refused an upstream header value: the client gets a 502 instead.
      this.status = 0;
      this.abortUpstream?.(err as Error);
    }
    return true;
  }

  /** false pauses reading upstream until resume() (the client's drain). */
  onData(chunk: Buffer): boolean {
    if (this.clientGone) return true;
    if (this.res.write(chunk)) return true;
    // Backpressure: stop reading upstream until the client catches up.
    if (!this.drainHooked) {
      this.drainHooked = true;
      this.res.on('drain', () => this.onClientDrain());
    }
    // undici's body timeout sleeps while paused; this covers a client that stopped reading.
    if (this.proxy.idleTimeoutMs > 0 && this.stallTimer === undefined) {
      this.stallBytes = this.res.socket?.bytesWritten ?? 0;
      this.stallTimer = setTimeout(onStall, this.proxy.idleTimeoutMs, this);
    }
    return false;
  }

  onComplete(): void {
    if (!this.clientGone) this.res.end();
    this.finish(true);
  }

  onError(err: Error): void {
    if (this.done) return;
    const entry = this.entry;
    if (this.status !== 0) {
      // Broken mid-response: the status line is gone, so the only honest signal is to cut the connection.
      if (this.status < 500) entry.stats.errors5xx++;
      this.res.destroy();
      this.finish(false);
      return;
    }
    if (this.clientGone) {
      this.finish(false);
      return;
    }
    if (isConnectError(err) && (!this.connected || !this.hasBody)) {
      // The app never saw (or never processed a body of) this request: try another backend.
      entry.stats.connectErrors++;
      this.proxy.end(entry);
      if (this.attempts <= this.proxy.connectRetries) {
        (this.tried ??= new Set()).add(entry);
        const next = this.proxy.pick(this.tried, err);
        if (next !== undefined) {
          this.dispatch(next);
          return;
        }
      }
      this.done = true;
      this.reply(502, 'upstream-unavailable', 'no routed backend accepted the connection');
      return;
    }
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_INVALID_ARG') {
      this.finish(false);
      this.reply(400, 'bad-request', 'request rejected by the proxy');
      return;
    }
    entry.stats.errors5xx++;
    this.finish(false);
    if (code === 'UND_ERR_HEADERS_TIMEOUT') this.reply(504, 'upstream-timeout', 'the app did not answer in time');
    else this.reply(502, 'upstream-error', 'the app closed the connection without answering');
  }

  private finish(ok: boolean): void {
    if (this.done) return;
    this.done = true;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    if (ok) this.entry.stats.latencies.add(performance.now() - this.startedAt);
    this.proxy.end(this.entry);
  }

  private reply(status: number, errorCode: string, body: string): void {
    const res = this.res;
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-gantry-error': errorCode });
    res.end(body);
  }

  /** Bound only once a response meets backpressure (most never do). */
  private onClientDrain(): void {
    if (this.stallTimer !== undefined) {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
    }
    this.resumeUpstream?.();
  }

  /** @internal the stall timer's callback (onStall below) */
  stalled(): void {
    const written = this.res.socket?.bytesWritten ?? this.stallBytes;
    if (written !== this.stallBytes && !this.done) {
      // Still draining to a slow client: bytes moved, so it is not idle.
      this.stallBytes = written;
      this.stallTimer = setTimeout(onStall, this.proxy.idleTimeoutMs, this);
      return;
    }
    this.stallTimer = undefined;
    this.abortUpstream?.(new Error('the client read nothing for the idle timeout'));
  }

  /** The response is over: finished, or the client went away first. */
  private readonly onResponseClose = (): void => {
    if (this.proxy.onAccess !== undefined) this.proxy.logAccess(this.req, this.res, this.t0, this.entry);
    if (this.done || this.res.writableFinished) return;
    // The client went away: abort upstream (or as soon as the attempt starts, if still queued).
    this.clientGone = true;
    this.abortUpstream?.(new Error('client closed the connection'));
  };
}

/** One function for every exchange's stall timer (no closure per response). */
function onStall(x: Exchange): void {
  x.stalled();
}
