import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { GantryProxy, NO_BACKEND_BODY, type Backend } from '../../src/proxy/index.js';
import { SmoothWeighted } from '../../src/proxy/weighted.js';
import { LatencyRing } from '../../src/proxy/stats.js';

// ---- helpers: real servers on 127.0.0.1, no mocks ---------------------------------------------

interface App {
  url: string;
  port: number;
  server: http.Server;
  hits: number;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, app: App) => void;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startApp(name: string, handler?: Handler): Promise<App> {
  const app = { hits: 0 } as App;
  const server = http.createServer((req, res) => {
    app.hits++;
    if (handler) return handler(req, res, app);
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain');
      res.end(name);
    });
  });
  server.on('upgrade', (_req, socket: net.Socket) => socket.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  Object.assign(app, {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      if (closed) return;
      closed = true;
      const done = new Promise((r) => server.close(r));
      server.closeAllConnections();
      await done;
    },
  });
  cleanups.push(() => app.close());
  return app;
}

async function startProxy(backends: Backend[] = []): Promise<{ proxy: GantryProxy; url: string }> {
  const proxy = new GantryProxy({ host: '127.0.0.1', port: 0 });
  proxy.setBackends(backends);
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close());
  return { proxy, url: `http://127.0.0.1:${port}` };
}

function client(): Agent {
  const agent = new Agent({ connections: 16 });
  cleanups.push(() => agent.close());
  return agent;
}

async function get(agent: Agent, url: string): Promise<{ status: number; body: string; release?: string; headers: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: agent });
  const body = await res.body.text();
  return { status: res.statusCode, body, release: res.headers['x-gantry-release'] as string | undefined, headers: res.headers };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Runs `total` GETs with `concurrency` workers; calls onProgress(done) after each. */
async function loop(agent: Agent, url: string, total: number, concurrency: number, onProgress?: (n: number) => void | Promise<void>) {
  let next = 0;
  let done = 0;
  const failures: string[] = [];
  const releases = new Map<string, number>();
  const worker = async (): Promise<void> => {
    while (next < total) {
      next++;
      try {
        const r = await get(agent, `${url}/?n=${next}`);
        if (r.status !== 200) failures.push(`status ${r.status}: ${r.body}`);
        else releases.set(r.release!, (releases.get(r.release!) ?? 0) + 1);
      } catch (err) {
        failures.push(String(err));
      }
      done++;
      await onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { failures, releases };
}

// ---- tests ------------------------------------------------------------------------------------

describe('SmoothWeighted', () => {
  it('alternates equal weights and splits 90/10 exactly', () => {
    const a = { id: 'a', weight: 1 };
    const b = { id: 'b', weight: 1 };
    const eq = new SmoothWeighted([a, b]);
    expect(Array.from({ length: 6 }, () => eq.pick()!.id).join('')).toBe('ababab');
    const big = { id: 'big', weight: 90 };
    const small = { id: 'small', weight: 10 };
    const w = new SmoothWeighted([big, small, { id: 'zero', weight: 0 }]);
    const picks: string[] = [];
    for (let i = 0; i < 100; i++) picks.push(w.pick()!.id);
    expect(picks.filter((p) => p === 'small')).toHaveLength(10);
    expect(picks).not.toContain('zero');
    expect(w.pick(new Set([big, small]))).toBeUndefined();
    expect(w.pick(new Set([big]))!.id).toBe('small');
  });
});

describe('LatencyRing', () => {
  it('keeps the last N samples and computes nearest-rank percentiles', () => {
    const ring = new LatencyRing(100);
    expect(ring.percentiles([0.5])).toEqual([0]);
    for (let i = 1; i <= 300; i++) ring.add(i); // only 201..300 remain
    expect(ring.percentiles([0.5, 0.9, 0.99])).toEqual([250, 290, 299]);
  });
});

describe('GantryProxy', () => {
  it('routes to a single backend, tags the release and adds X-Forwarded-*', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const app = await startApp('a', (req, res) => {
      seen = req.headers;
      res.setHeader('keep-alive', 'timeout=99');
      res.setHeader('x-app', 'yes');
      res.end('hello from a');
    });
    const { proxy, url } = await startProxy([{ id: 'a1', release: 'r1', url: app.url, weight: 1 }]);
    const r = await get(client(), `${url}/path?q=1`);
    expect(r.status).toBe(200);
    expect(r.body).toBe('hello from a');
    expect(r.release).toBe('r1');
    expect(r.headers['x-app']).toBe('yes');
    expect(r.headers['keep-alive']).not.toBe('timeout=99'); // the proxy's own keep-alive, not the app's
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(new URL(url).host);
    expect(seen.host).toBe(new URL(url).host);
    const stats = proxy.stats();
    expect(stats.releases).toMatchObject([{ release: 'r1', requests: 1, errors5xx: 0, connectErrors: 0, inflight: 0, errorRate: 0 }]);
    expect(stats.releases[0]!.p99Ms).toBeGreaterThan(0);
    expect(stats.backends).toEqual([{ id: 'a1', release: 'r1', inflight: 0, requests: 1 }]);
    proxy.resetStats();
    expect(proxy.stats().releases[0]!.requests).toBe(0);
  });

  it('answers 503 with x-gantry-error when no backend is routed', async () => {
    const { url } = await startProxy([]);
    const r = await get(client(), url);
    expect(r.status).toBe(503);
    expect(r.body).toBe(NO_BACKEND_BODY);
    expect(r.headers['x-gantry-error']).toBeDefined();
  });

  it('splits 3:1 weights within ±5% over 400 requests', async () => {
    const a = await startApp('a');
    const b = await startApp('b');
    const { url } = await startProxy([
      { id: 'a', release: 'ra', url: a.url, weight: 3 },
      { id: 'b', release: 'rb', url: b.url, weight: 1 },
    ]);
    const { failures, releases } = await loop(client(), url, 400, 8);
    expect(failures).toEqual([]);
    expect(releases.get('ra')! / 400).toBeGreaterThanOrEqual(0.7);
    expect(releases.get('ra')! / 400).toBeLessThanOrEqual(0.8);
    expect(releases.get('rb')! + releases.get('ra')!).toBe(400);
  });

  it('switches releases under load with zero failed requests (drain, then stop the old app)', async () => {
    const a = await startApp('a');
    const b = await startApp('b');
    const c = await startApp('c');
    const { proxy, url } = await startProxy([{ id: 'a', release: 'ra', url: a.url, weight: 1 }]);
    const pending: Promise<unknown>[] = [];
    const { failures, releases } = await loop(client(), url, 300, 10, (n) => {
      if (n === 80) {
        proxy.setBackends([{ id: 'b', release: 'rb', url: b.url, weight: 1 }]);
        pending.push(proxy.drain('a', 2000).then(() => a.close()));
      }
      if (n === 180) {
        // Old app killed without a drain: its pooled sockets reset and new connects are refused.
        proxy.setBackends([
          { id: 'b', release: 'rb', url: b.url, weight: 1 },
          { id: 'c', release: 'rc', url: c.url, weight: 1 },
        ]);
      }
      if (n === 200) pending.push(b.close());
    });
    await Promise.all(pending);
    expect(failures).toEqual([]);
    expect(releases.get('ra')).toBeGreaterThan(0);
    expect(releases.get('rb')).toBeGreaterThan(0);
    expect(releases.get('rc')).toBeGreaterThan(0);
  });

  it('retries a refused connection on another backend and records connectErrors', async () => {
    const good = await startApp('good');
    const { proxy, url } = await startProxy([
      { id: 'dead', release: 'rdead', url: `http://127.0.0.1:${await closedPort()}`, weight: 1 },
      { id: 'good', release: 'rgood', url: good.url, weight: 1 },
    ]);
    const { failures, releases } = await loop(client(), url, 50, 4);
    expect(failures).toEqual([]);
    expect(releases.get('rgood')).toBe(50);
    const dead = proxy.stats().releases.find((r) => r.release === 'rdead')!;
    expect(dead.connectErrors).toBeGreaterThan(0);
    expect(dead.errorRate).toBe(1);
    expect(proxy.stats().releases.find((r) => r.release === 'rgood')!.errorRate).toBe(0);
  });

  it('loses no request when a routed app dies abruptly (bodyless requests are retried elsewhere)', async () => {
    const a = await startApp('a', (req, res) => {
      req.resume();
      setTimeout(() => res.end('a'), 2);
    });
    const b = await startApp('b');
    const { proxy, url } = await startProxy([
      { id: 'a', release: 'ra', url: a.url, weight: 1 },
      { id: 'b', release: 'rb', url: b.url, weight: 1 },
    ]);
    const { failures, releases } = await loop(client(), url, 300, 10, (n) => {
      if (n === 100) void a.close(); // in-flight requests on a are reset, its pooled sockets die
    });
    expect(failures).toEqual([]);
    expect(releases.get('rb')).toBeGreaterThan(150);
    expect(proxy.stats().releases.find((r) => r.release === 'ra')!.connectErrors).toBeGreaterThan(0);
  });

  it('retries a POST with a body when the connection was refused (body not yet sent)', async () => {
    const echo = await startApp('echo', (req, res) => req.pipe(res));
    const { url } = await startProxy([
      { id: 'dead', release: 'rdead', url: `http://127.0.0.1:${await closedPort()}`, weight: 1 },
      { id: 'echo', release: 'recho', url: echo.url, weight: 1 },
    ]);
    const agent = client();
    for (let i = 0; i < 6; i++) {
      const payload = `payload-${i}-`.repeat(5000);
      const res = await request(url, { dispatcher: agent, method: 'POST', body: payload });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe(payload);
    }
  });

  it('answers 502 when every backend refuses', async () => {
    const { proxy, url } = await startProxy([{ id: 'dead', release: 'r', url: `http://127.0.0.1:${await closedPort()}`, weight: 1 }]);
    const r = await get(client(), url);
    expect(r.status).toBe(502);
    expect(r.headers['x-gantry-error']).toBe('upstream-unavailable');
    expect(proxy.stats().releases[0]!.connectErrors).toBeGreaterThanOrEqual(1);
  });

  it('drain waits for a slow in-flight request on a removed backend', async () => {
    const slow = await startApp('slow', (_req, res) => setTimeout(() => res.end('slow done'), 500));
    const fast = await startApp('fast');
    const { proxy, url } = await startProxy([{ id: 'slow', release: 'r1', url: slow.url, weight: 1 }]);
    const agent = client();
    const inflight = get(agent, url);
    await waitFor(() => proxy.inflight('slow') === 1);
    proxy.setBackends([{ id: 'fast', release: 'r2', url: fast.url, weight: 1 }]);
    expect((await get(agent, url)).body).toBe('fast');
    const t0 = Date.now();
    const result = await proxy.drain('slow', 3000);
    expect(result).toEqual({ drained: true, inflight: 0 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect((await inflight).body).toBe('slow done');
    expect(proxy.inflight('slow')).toBe(0);
  });

  it('drain reports a timeout with the remaining in-flight count', async () => {
    const slow = await startApp('slow', (_req, res) => setTimeout(() => res.end('late'), 600));
    const { proxy, url } = await startProxy([{ id: 'slow', release: 'r1', url: slow.url, weight: 1 }]);
    const pending = get(client(), url);
    await waitFor(() => proxy.inflight('slow') === 1);
    // Still routed: drain takes it out of the table itself.
    expect(await proxy.drain('slow', 100)).toEqual({ drained: false, inflight: 1 });
    expect(proxy.backends()).toEqual([]);
    expect((await pending).body).toBe('late');
  });

  it('streams a 1 MB POST body through intact, both ways', async () => {
    const app = await startApp('echo', (req, res) => {
      const hash = createHash('sha256');
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.on('data', (c: Buffer) => {
        hash.update(c);
        res.write(c);
      });
      req.on('end', () => res.end());
    });
    const { url } = await startProxy([{ id: 'e', release: 'r', url: app.url, weight: 1 }]);
    const body = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
    // Chunked (no content-length) and with content-length.
    for (const withLength of [false, true]) {
      const res = await request(url, {
        dispatcher: client(),
        method: 'POST',
        body: withLength ? body : (async function* () {
          for (let i = 0; i < body.length; i += 64 * 1024) yield body.subarray(i, i + 64 * 1024);
        })(),
      });
      const got = Buffer.from(await res.body.arrayBuffer());
      expect(res.statusCode).toBe(200);
      expect(got.length).toBe(body.length);
      expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    }
  });

  it('counts 5xx responses and passes them through', async () => {
    const app = await startApp('err', (_req, res) => {
      res.statusCode = 503;
      res.end('down');
    });
    const { proxy, url } = await startProxy([{ id: 'e', release: 'r', url: app.url, weight: 1 }]);
    const r = await get(client(), url);
    expect(r.status).toBe(503);
    expect(r.body).toBe('down');
    expect(proxy.stats().releases[0]).toMatchObject({ requests: 1, errors5xx: 1, errorRate: 1 });
  });

  it('survives a client abort mid-response and an upstream crash mid-response', async () => {
    let upstreamClosed = false;
    const app = await startApp('stream', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      if (req.url === '/crash') setTimeout(() => res.socket?.destroy(), 50);
      else res.on('close', () => (upstreamClosed = true));
    });
    const { proxy, url } = await startProxy([{ id: 's', release: 'r', url: app.url, weight: 1 }]);

    // Client goes away: the upstream request is aborted.
    await new Promise<void>((resolve) => {
      const req = http.get(url, (res) => res.once('data', () => req.destroy()));
      req.on('error', () => undefined);
      req.on('close', () => resolve());
    });
    await waitFor(() => upstreamClosed && proxy.inflight('s') === 0);

    // Upstream dies mid-body: the client's connection is cut, not left hanging.
    const err = await new Promise<unknown>((resolve) => {
      http.get(`${url}/crash`, (res) => {
        res.on('data', () => undefined);
        res.on('error', resolve);
        res.on('end', () => resolve('ended cleanly'));
      }).on('error', resolve);
    });
    expect(err).not.toBe('ended cleanly');
    await waitFor(() => proxy.inflight('s') === 0);
    // Still serving afterwards.
    proxy.setBackends([{ id: 'ok', release: 'r2', url: (await startApp('ok')).url, weight: 1 }]);
    expect((await get(client(), url)).body).toBe('ok');
  });

  it('passes Upgrade requests through (raw tunnel)', async () => {
    const app = await startApp('ws');
    app.server.removeAllListeners('upgrade');
    app.server.on('upgrade', (req, socket: net.Socket, head: Buffer) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\nx-fwd: ${req.headers['x-forwarded-for']}\r\n\r\n`);
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    const { proxy, url } = await startProxy([{ id: 'w', release: 'r', url: app.url, weight: 1 }]);
    const { port } = new URL(url);
    const sock = net.connect(Number(port), '127.0.0.1');
    cleanups.push(() => sock.destroy());
    sock.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    let got = '';
    sock.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n\r\n') && !got.includes('ping')) sock.write('ping');
    });
    await waitFor(() => got.includes('ping'));
    expect(got).toContain('101 Switching Protocols');
    expect(got).toContain('x-fwd: 127.0.0.1');
    expect(proxy.inflight('w')).toBe(1);
    sock.destroy();
    await waitFor(() => proxy.inflight('w') === 0);
  });

  it('rejects invalid backends', async () => {
    const proxy = new GantryProxy({ port: 0 });
    expect(() => proxy.setBackends([{ id: 'a', release: 'r', url: 'ftp://x', weight: 1 }])).toThrow(/http/);
    expect(() => proxy.setBackends([{ id: 'a', release: 'r', url: 'http://x', weight: -1 }])).toThrow(/weight/);
    expect(() =>
      proxy.setBackends([
        { id: 'a', release: 'r', url: 'http://x', weight: 1 },
        { id: 'a', release: 'r', url: 'http://y', weight: 1 },
      ]),
    ).toThrow(/duplicate/);
    await proxy.close();
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}
