import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM of the build scripts, no types
import { Pool } from '../../scripts/agent-undici.mjs';

// The agent bundle runs on undici 6 (Node 18 hosts) while Gantry's proxy dispatches with
// undici 7 style handlers: scripts/agent-undici.mjs is what `undici` is inside the bundle.
// Without its adapter every request through a host's proxy failed ("invalid onError method").
let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-path': req.url ?? '' });
    res.end('x'.repeat(100_000));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A dispatch of an undici 7 style handler; pauses once to check backpressure reaches undici 6. */
function fetchWithNewHandler(pool: { dispatch: (o: object, h: object) => boolean }, path: string) {
  return new Promise<{ status: number; headers: Record<string, string>; bytes: number; paused: boolean; error?: Error }>((resolve) => {
    const out = { status: 0, headers: {} as Record<string, string>, bytes: 0, paused: false };
    pool.dispatch(
      { origin, path, method: 'GET' },
      {
        onRequestStart() {},
        onResponseStart(_c: unknown, status: number, headers: Record<string, string>) {
          out.status = status;
          out.headers = headers;
        },
        onResponseData(c: { pause(): void; resume(): void }, chunk: Buffer) {
          out.bytes += chunk.length;
          if (!out.paused) {
            out.paused = true;
            c.pause();
            setTimeout(() => c.resume(), 20);
          }
        },
        onResponseEnd() {
          resolve(out);
        },
        onResponseError(_c: unknown, error: Error) {
          resolve({ ...out, error });
        },
      },
    );
  });
}

describe("the agent bundle's undici (undici 6 + adapter)", () => {
  it('takes undici 7 style dispatch handlers: status, parsed headers, the whole body, pause/resume', async () => {
    const pool = new Pool(origin);
    try {
      const r = await fetchWithNewHandler(pool, '/health');
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(200);
      expect(r.headers['x-path']).toBe('/health');
      expect(r.bytes).toBe(100_000);
      expect(r.paused).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('reports a refused connection through onResponseError', async () => {
    const pool = new Pool('http://127.0.0.1:1');
    try {
      const r = await fetchWithNewHandler(pool, '/');
      expect(r.status).toBe(0);
      expect((r.error as { code?: string }).code).toBe('ECONNREFUSED');
    } finally {
      await pool.close();
    }
  });
});
