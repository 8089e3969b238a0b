/**
 * Issue 19: `gantry server` serves the built dashboard (dist/web) at `/` over real
 * HTTP: index.html never cached, hashed assets immutable, client routes answered
 * with index.html while unknown /api/ paths stay JSON 404s, a CSP that allows only
 * this origin, and the first load's JavaScript under 300 KB gzipped. Also the
 * read-only endpoints the dashboard uses: /api/v1/targets and /api/v1/me.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { api, makeKey, startServer, stopServer, type ServerProc } from '../helpers/server.js';

let srv: ServerProc;
let key: string;

beforeAll(async () => {
  srv = await startServer();
  key = await makeKey(srv.dataDir, 'admin'); // server-wide (viewer keys belong to a project)
});
afterAll(() => stopServer(srv));

/** The scripts index.html loads at first: <script src> and <link rel=modulepreload>. */
function firstLoadScripts(html: string): string[] {
  const srcs = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]!);
  const preloads = [...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
  return [...new Set([...srcs, ...preloads])];
}

describe('gantry server serves the dashboard', () => {
  it('/ is the built index.html, never cached, with a CSP allowing only this origin', async () => {
    const res = await fetch(`${srv.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await res.text();
    expect(html).toContain('<div id="root">');
    // Nothing from another origin: every src/href is a path on this server.
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) expect(m[1]).toMatch(/^\/[^/]/);
  });

  it('the first load transfers < 300 KB of gzipped JavaScript; hashed assets are cached immutable', async () => {
    const html = await (await fetch(`${srv.url}/`)).text();
    const scripts = firstLoadScripts(html);
    expect(scripts.length).toBeGreaterThan(0);
    let gz = 0;
    for (const s of scripts) {
      const res = await fetch(srv.url + s);
      expect(res.status, s).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/javascript/);
      expect(res.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable|immutable.*max-age=31536000/);
      gz += gzipSync(Buffer.from(await res.arrayBuffer())).length;
    }
    expect(gz).toBeLessThan(300 * 1024);
  });

  it('client routes get index.html; unknown /api/ paths stay JSON 404s; the probes and the API still answer', async () => {
    for (const path of ['/deploy', '/apps/hello/history?target=local', '/deployments/dep_x']) {
      const res = await fetch(srv.url + path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toContain('<div id="root">');
    }
    for (const path of ['/api/v1/nothing-here', '/api/nope', '/health/nope']) {
      const r = await api(srv.url, 'GET', path);
      expect(r.status, path).toBe(404);
      expect(r.body.error.code).toBe('NOT_FOUND');
    }
    expect((await api(srv.url, 'GET', '/api/v1/apps')).status).toBe(401);
    expect((await api(srv.url, 'GET', '/health/live')).body).toEqual({ status: 'ok' });
    expect((await api(srv.url, 'POST', '/deploy', { body: {} })).status).toBe(404);
    expect((await fetch(`${srv.url}/assets/missing-file.js`)).status).toBe(404);
  });

  it('GET /api/v1/targets: each target with its doctor checks and the JSON Schema of its config; /api/v1/me names the key', async () => {
    const r = await api(srv.url, 'GET', '/api/v1/targets', { token: key });
    expect(r.status, r.text).toBe(200);
    const types = r.body.targets.map((t: any) => t.type);
    expect(types).toEqual(expect.arrayContaining(['process', 'docker', 'ssh', 'kubernetes']));
    const proc = r.body.targets.find((t: any) => t.type === 'process');
    expect(proc.config_schema).toMatchObject({ type: 'object', properties: { port: { type: 'integer', minimum: 1, maximum: 65535 } } });
    expect(Array.isArray(proc.prerequisites)).toBe(true);
    expect(proc.ready).toBe(proc.prerequisites.every((c: any) => c.ok));
    const k8s = r.body.targets.find((t: any) => t.type === 'kubernetes');
    expect(Object.keys(k8s.config_schema.properties)).toEqual(expect.arrayContaining(['kubeconfig', 'namespace', 'replicas']));
    expect(k8s.prerequisites.length).toBeGreaterThan(0);
    const one = await api(srv.url, 'GET', '/api/v1/targets/ssh', { token: key });
    expect(one.body.config_schema.properties.hosts.type).toBe('array');
    expect((await api(srv.url, 'GET', '/api/v1/targets/nope', { token: key })).status).toBe(404);
    const me = await api(srv.url, 'GET', '/api/v1/me', { token: key });
    expect(me.body).toMatchObject({ key_id: expect.stringMatching(/^key_/), role: 'admin', project: null });
    expect(me.text).not.toContain(key);
    const doc = await api(srv.url, 'GET', '/api/v1/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/v1/targets', '/api/v1/me', '/api/v1/apps/{app}/releases/{release}/config']));
  });
});
