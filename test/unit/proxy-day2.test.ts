/** Gantry's proxy, day-2 parts: maintenance mode and a second listener for a changed access port. Real sockets on 127.0.0.1. */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { escapeHtml, GantryProxy } from '../../src/proxy/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function app(): Promise<string> {
  const server = http.createServer((_req, res) => res.end('app'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function proxy(backend: string): Promise<{ proxy: GantryProxy; port: number }> {
  const p = new GantryProxy({ port: 0, closeTimeoutMs: 500 });
  const { port } = await p.listen();
  cleanups.push(() => p.close());
  p.setBackends([{ id: 'i1', release: 'r1', url: backend, weight: 1 }]);
  return { proxy: p, port };
}

const get = async (port: number, path = '/') => {
  const r = await request(`http://127.0.0.1:${port}${path}`);
  return { status: r.statusCode, headers: r.headers, body: await r.body.text() };
};

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

describe('maintenance mode', () => {
  it('answers every request (and an Upgrade) with 503, Retry-After and the escaped message; off forwards again', async () => {
    const { proxy: p, port } = await proxy(await app());
    p.setMaintenance({ message: '<img src=x onerror=alert(1)> "soon" & \'later\'', retryAfterSeconds: 120, since: new Date().toISOString() });
    const r = await get(port, '/anything?x=1');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('120');
    expect(r.body).toContain('&lt;img src=x onerror=alert(1)&gt; &quot;soon&quot; &amp; &#39;later&#39;');
    expect(r.body).not.toContain('<img');
    const raw = await new Promise<string>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'));
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => resolve(text));
    });
    expect(raw).toMatch(/^HTTP\/1\.1 503/);
    p.setMaintenance(undefined);
    expect(await get(port)).toMatchObject({ status: 200, body: 'app' });
  });

  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('a second listener (changed access port)', () => {
  it('serves the same routes on both addresses, then closes the former one only', async () => {
    const { proxy: p, port: a } = await proxy(await app());
    const b = await freePort();
    await p.listenAlso('127.0.0.1', b);
    expect((await get(a)).body).toBe('app');
    expect((await get(b)).body).toBe('app');
    expect(p.addresses().map((x) => x.port).sort()).toEqual([a, b].sort());
    await p.closeListenersExcept('127.0.0.1', b);
    await expect(get(a)).rejects.toThrow();
    expect((await get(b)).body).toBe('app');
    // Asking again for an address it listens on changes nothing.
    await p.listenAlso('127.0.0.1', b);
    expect(p.addresses()).toEqual([{ host: '127.0.0.1', port: b }]);
  });
});
