/**
 * The proxy against crafted clients and misbehaving apps: hop-by-hop names that
 * target the proxy's own headers, Upgrade requests answered without a 101, and
 * upstreams that never answer or stall mid-body. Real sockets only.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GantryProxy, type ProxyOptions } from '../../src/proxy/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
}

/** An app that records what each request carried; `handler` may answer differently. */
async function startApp(handler?: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; seen: Seen[]; server: http.Server }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => res.end(`ok ${req.url}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(async () => {
    const done = new Promise((r) => server.close(r));
    server.closeAllConnections();
    await done;
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

async function startProxy(appUrl: string, opts: Partial<ProxyOptions> = {}): Promise<{ proxy: GantryProxy; port: number }> {
  const proxy = new GantryProxy({ host: '127.0.0.1', port: 0, closeTimeoutMs: 500, ...opts });
  proxy.setBackends([{ id: 'i1', release: 'r1', url: appUrl, weight: 1 }]);
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close());
  return { proxy, port };
}

/** A raw TCP client: what it wrote is exactly what the proxy parses. */
function rawClient(port: number): { sock: net.Socket; text: () => string; closed: () => boolean } {
  const sock = net.connect(port, '127.0.0.1');
  let got = '';
  let closed = false;
  sock.on('data', (d) => (got += d.toString('latin1')));
  sock.on('error', () => undefined);
  sock.on('close', () => (closed = true));
  cleanups.push(() => sock.destroy());
  return { sock, text: () => got, closed: () => closed };
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for condition');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const responses = (text: string): number => text.split('HTTP/1.1 ').length - 1;

describe('hop-by-hop names never remove what the proxy sets', () => {
  it('keeps X-Forwarded-* when the client names them in Connection', async () => {
    const app = await startApp();
    const { port } = await startProxy(app.url);
    const c = rawClient(port);
    c.sock.write(
      'GET /a HTTP/1.1\r\nHost: public.example\r\nConnection: close, x-forwarded-for, x-forwarded-proto, x-forwarded-host\r\n' +
        'X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n',
    );
    await waitFor(() => c.closed());
    expect(c.text()).toMatch(/^HTTP\/1\.1 200/);
    const h = app.seen[0]!.headers;
    // The client declared its own X-Forwarded-For hop-by-hop: it is dropped, the proxy's value stays.
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe('public.example');
    expect(h.host).toBe('public.example');
  });

  it('keeps Host (and Content-Length) when the client names them in Connection', async () => {
    const app = await startApp((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.end(`got ${body}`));
    });
    const { port } = await startProxy(app.url);
    const c = rawClient(port);
    c.sock.write('POST /h HTTP/1.1\r\nHost: public.example\r\nConnection: host, content-length, x-drop-me\r\nX-Drop-Me: 1\r\nX-Keep: 2\r\nContent-Length: 5\r\n\r\nhello');
    await waitFor(() => c.text().includes('got hello'));
    const h = app.seen[0]!.headers;
    expect(h.host).toBe('public.example');
    expect(h['x-forwarded-host']).toBe('public.example');
    expect(h['content-length']).toBe('5');
    // What the client may legitimately name is still removed.
    expect(h['x-drop-me']).toBeUndefined();
    expect(h['x-keep']).toBe('2');
  });

  it('applies the same rules to Upgrade requests', async () => {
    const app = await startApp();
    let upgradeHeaders: http.IncomingHttpHeaders = {};
    app.server.on('upgrade', (req, socket: net.Socket) => {
      upgradeHeaders = req.headers;
      socket.end('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n');
    });
    const { port } = await startProxy(app.url);
    const c = rawClient(port);
    c.sock.write('GET /ws HTTP/1.1\r\nHost: public.example\r\nConnection: Upgrade, host, x-forwarded-for, keep-alive, te\r\nUpgrade: echo\r\nTE: trailers\r\nKeep-Alive: 5\r\n\r\n');
    await waitFor(() => c.text().includes('101'));
    expect(upgradeHeaders.host).toBe('public.example');
    expect(upgradeHeaders['x-forwarded-for']).toBe('127.0.0.1');
    expect(upgradeHeaders['x-forwarded-host']).toBe('public.example');
    expect(upgradeHeaders.upgrade).toBe('echo');
    expect(upgradeHeaders.connection).toBe('upgrade');
    expect(upgradeHeaders.te).toBeUndefined();
    expect(upgradeHeaders['keep-alive']).toBeUndefined();
  });
});

describe('Upgrade answered without a 101', () => {
  it('relays the response and keeps serving the connection as HTTP, with headers rewritten and stats counted', async () => {
    // A plain HTTP app: it ignores Upgrade and answers 200 on a keep-alive connection.
    const app = await startApp((req, res) => res.end(`plain ${req.url}`));
    const { proxy, port } = await startProxy(app.url);
    const c = rawClient(port);
    c.sock.write('GET /first HTTP/1.1\r\nHost: public.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    await waitFor(() => c.text().includes('plain /first'));
    expect(c.text()).toMatch(/^HTTP\/1\.1 200/);
    expect(c.text()).toContain('x-gantry-release: r1');
    // The same socket, a second (ordinary) request: it goes through the proxy, not a raw tunnel.
    c.sock.write('GET /second HTTP/1.1\r\nHost: public.example\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n');
    await waitFor(() => c.text().includes('plain /second'));
    expect(responses(c.text())).toBe(2);
    expect(c.text().split('plain /first')[1]).toContain('x-gantry-release: r1');
    const second = app.seen.find((s) => s.url === '/second')!;
    expect(second.headers['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1');
    expect(second.headers['x-forwarded-host']).toBe('public.example');
    await waitFor(() => proxy.stats().releases[0]!.requests === 2 && proxy.inflight('i1') === 0);
    expect(proxy.stats().releases[0]).toMatchObject({ requests: 2, errors5xx: 0, inflight: 0 });
  });

  it('relays a chunked error answer, counts it, and serves a request pipelined behind the Upgrade', async () => {
    const app = await startApp((req, res) => {
      res.statusCode = req.url === '/ws' ? 503 : 200;
      res.write('part1-');
      res.end(`end ${req.url}`); // no content-length: chunked upstream
    });
    const { proxy, port } = await startProxy(app.url);
    const c = rawClient(port);
    c.sock.write('GET /ws HTTP/1.1\r\nHost: p\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n');
    await waitFor(() => c.closed());
    expect(responses(c.text())).toBe(2);
    expect(c.text()).toMatch(/^HTTP\/1\.1 503/);
    expect(c.text()).toContain('end /ws');
    expect(c.text()).toContain('end /next');
    expect(app.seen.map((s) => s.url)).toEqual(['/ws', '/next']);
    expect(app.seen[1]!.headers['x-forwarded-for']).toBe('127.0.0.1');
    await waitFor(() => proxy.inflight('i1') === 0);
    expect(proxy.stats().releases[0]).toMatchObject({ requests: 2, errors5xx: 1 });
  });

  it('still tunnels after a 101', async () => {
    const app = await startApp();
    app.server.on('upgrade', (_req, socket: net.Socket, head: Buffer) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: echo\r\nx-app: 1\r\n\r\n');
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    const { proxy, port } = await startProxy(app.url);
    const c = rawClient(port);
    c.sock.write('GET /ws HTTP/1.1\r\nHost: p\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitFor(() => c.text().includes('\r\n\r\n'));
    expect(c.text()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(c.text()).toContain('x-app: 1');
    c.sock.write('GET /not-http HTTP/1.1\r\n\r\n');
    await waitFor(() => c.text().includes('GET /not-http'));
    expect(proxy.inflight('i1')).toBe(1);
    c.sock.destroy();
    await waitFor(() => proxy.inflight('i1') === 0);
  });
});

describe('timeouts', () => {
  it('answers 504 when the app does not answer within the response timeout', async () => {
    const app = await startApp(() => undefined); // never answers
    const { proxy, port } = await startProxy(app.url, { responseTimeoutMs: 1000 });
    const started = Date.now();
    const status = await new Promise<number>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/slow`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject);
    });
    const took = Date.now() - started;
    expect(status).toBe(504);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4000);
    expect(proxy.stats().releases[0]!.errors5xx).toBe(1);
  });

  it('answers 504 when the app does not answer an Upgrade within the response timeout', async () => {
    const app = await startApp();
    app.server.on('upgrade', (_req, socket: net.Socket) => cleanups.push(() => socket.destroy())); // holds the socket, never answers
    const { port } = await startProxy(app.url, { responseTimeoutMs: 1000 });
    const c = rawClient(port);
    const started = Date.now();
    c.sock.write('GET /ws HTTP/1.1\r\nHost: p\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitFor(() => c.text().includes('\r\n\r\n'), 6000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 504/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('cuts a response whose body stalls for the idle timeout, and counts it as an error', async () => {
    const app = await startApp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n'); // then nothing, ever
    });
    const { proxy, port } = await startProxy(app.url, { idleTimeoutMs: 1000 });
    const c = rawClient(port);
    const started = Date.now();
    c.sock.write('GET /stall HTTP/1.1\r\nHost: p\r\n\r\n');
    await waitFor(() => c.closed(), 6000);
    const took = Date.now() - started;
    expect(c.text()).toContain('first chunk');
    expect(c.text()).not.toMatch(/\r\n0\r\n\r\n$/); // not ended as if complete
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4000);
    await waitFor(() => proxy.inflight('i1') === 0);
    expect(proxy.stats().releases[0]!.errors5xx).toBe(1);
  });

  it('cuts a response whose client stops reading for the idle timeout', async () => {
    let upstreamClosed = false;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const app = await startApp((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      res.on('close', () => (upstreamClosed = true));
      pump();
    });
    const { proxy, port } = await startProxy(app.url, { idleTimeoutMs: 1000 });
    const c = rawClient(port);
    c.sock.write('GET /big HTTP/1.1\r\nHost: p\r\n\r\n');
    await waitFor(() => c.text().length > 0);
    c.sock.pause(); // never reads again: both directions go quiet once the buffers are full
    await waitFor(() => upstreamClosed, 10_000);
    await waitFor(() => proxy.inflight('i1') === 0);
    expect(proxy.stats().releases[0]!.errors5xx).toBe(1);
  });

  it('keeps a slow stream open while bytes keep flowing', async () => {
    const app = await startApp((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let n = 0;
      const t = setInterval(() => {
        res.write(`data: ${n}\n\n`);
        if (++n === 6) {
          clearInterval(t);
          res.end();
        }
      }, 400);
      res.on('close', () => clearInterval(t));
    });
    const { proxy, port } = await startProxy(app.url, { idleTimeoutMs: 1000, responseTimeoutMs: 1000 });
    const c = rawClient(port);
    c.sock.write('GET /events HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n');
    await waitFor(() => c.closed(), 6000);
    expect(c.text()).toContain('data: 5');
    expect(proxy.stats().releases[0]).toMatchObject({ requests: 1, errors5xx: 0 });
  });
});
