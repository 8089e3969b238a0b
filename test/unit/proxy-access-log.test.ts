/**
 * The proxy's access log: one line per request whichever way it was answered
 * (carried to a backend, held then carried, held then 503, maintenance), and the
 * agent's batched writer (lines gathered, written together, nothing lost on close).
 * Real sockets on 127.0.0.1 and a real file.
 */
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { BatchedAccessLog } from '../../src/agent/access-log.js';
import { GantryProxy, type AccessEntry } from '../../src/proxy/index.js';
import { LogFile } from '../../src/supervisor/index.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function app(): Promise<string> {
  const server = http.createServer((_req, res) => res.end('app'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const get = async (port: number, path = '/') => {
  const r = await request(`http://127.0.0.1:${port}${path}`);
  return { status: r.statusCode, body: await r.body.text() };
};

/** Polls (bounded) until `entries` holds n lines: the line is written when the response closes. */
async function lines(entries: AccessEntry[], n: number): Promise<AccessEntry[]> {
  for (let i = 0; i < 200 && entries.length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return entries;
}

describe('access log lines', () => {
  it('one line per request: routed, held then routed, held then 503, maintenance', async () => {
    const entries: AccessEntry[] = [];
    const p = new GantryProxy({ port: 0, closeTimeoutMs: 500, holdTimeoutMs: 300, onAccess: (e) => entries.push(e) });
    const { port } = await p.listen();
    cleanups.push(() => p.close());
    const backend = await app();

    // Nothing routed: the request is held, then carried once a backend is routed.
    const held = get(port, '/held?token=secret');
    const heldCount = (): number => (p as unknown as { held: unknown[] }).held.length;
    for (let i = 0; i < 200 && heldCount() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(heldCount()).toBe(1);
    p.setBackends([{ id: 'i1', release: 'r1', url: backend, weight: 1 }]);
    expect(await held).toEqual({ status: 200, body: 'app' });
    await lines(entries, 1);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ method: 'GET', path: '/held', status: 200, instance: 'i1', release: 'r1' });

    expect((await get(port, '/a?q=1')).status).toBe(200);
    await lines(entries, 2);
    expect(entries[1]).toMatchObject({ path: '/a', status: 200, instance: 'i1', release: 'r1' });
    expect(new Date(entries[1]!.at).toISOString()).toBe(entries[1]!.at);
    expect(entries[1]!.ms).toBeGreaterThanOrEqual(0);

    // Held until the hold timeout: one line, the 503, no instance.
    p.setBackends([]);
    expect((await get(port, '/timeout')).status).toBe(503);
    await lines(entries, 3);
    expect(entries[2]).toMatchObject({ path: '/timeout', status: 503 });
    expect(entries[2]!.instance).toBeUndefined();

    p.setBackends([{ id: 'i1', release: 'r1', url: backend, weight: 1 }]);
    p.setMaintenance({ message: 'soon', retryAfterSeconds: 5, since: new Date().toISOString() });
    expect((await get(port, '/m')).status).toBe(503);
    await lines(entries, 4);
    expect(entries[3]).toMatchObject({ path: '/m', status: 503 });
    p.setMaintenance(undefined);

    // No line twice: give any late duplicate the chance to arrive.
    expect((await get(port, '/last')).status).toBe(200);
    await lines(entries, 5);
    await new Promise((r) => setTimeout(r, 50));
    expect(entries.map((e) => e.path)).toEqual(['/held', '/a', '/timeout', '/m', '/last']);
  });
});

describe('BatchedAccessLog', () => {
  it('gathers lines and writes them together as JSON lines; close writes what is pending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-access-log-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = new LogFile(join(dir, 'access.log'), 1024 * 1024);
    // A flush delay far beyond the test: only close() can have written the lines.
    const log = new BatchedAccessLog(file, 3_600_000);
    const entry = (i: number): AccessEntry => ({ at: new Date(0).toISOString(), method: 'GET', path: `/p${i}`, status: 200, ms: 1.5, instance: 'i1', release: 'r1' });
    for (let i = 0; i < 100; i++) log.record(entry(i));
    await file.flush();
    expect(() => readFileSync(join(dir, 'access.log'), 'utf8')).toThrow();
    await log.close();
    const written = readFileSync(join(dir, 'access.log'), 'utf8').trimEnd().split('\n');
    expect(written).toHaveLength(100);
    expect(written.map((l) => JSON.parse(l))).toEqual(Array.from({ length: 100 }, (_, i) => entry(i)));
  });

  it('a timer writes the batch without close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-access-log-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = new LogFile(join(dir, 'access.log'), 1024 * 1024);
    const log = new BatchedAccessLog(file, 5);
    cleanups.push(() => log.close());
    log.record({ at: new Date(0).toISOString(), method: 'POST', path: '/x', status: 201, ms: 0.1 });
    let text = '';
    for (let i = 0; i < 200 && text === ''; i++) {
      await new Promise((r) => setTimeout(r, 10));
      await file.flush();
      try {
        text = readFileSync(join(dir, 'access.log'), 'utf8');
      } catch {
        /* not yet */
      }
    }
    expect(JSON.parse(text)).toMatchObject({ method: 'POST', path: '/x', status: 201 });
  });
});
