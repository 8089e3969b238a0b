/**
 * Issue 18, outgoing notifications: `gantry server --notify-webhook URL` (secret from
 * GANTRY_NOTIFY_SECRET, a Slack-style url from GANTRY_NOTIFY_SLACK_URL) tells a local receiver
 * of each deploy's start and end (success, failure) and of a rollback, with the generic JSON
 * signed by HMAC-SHA256; neither the secret nor the Slack url reaches the server's log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry } from '../helpers/cli.js';
import { api, killServerAgents, makeKey, newDataDir, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvnotify-hello';
const SECRET = 'notify-secret-for-the-test-0f3a9c';
const SLACK_PATH = '/slack/services/T0000TEST/B0000TEST/slacktokenslacktoken42';
let srv: ServerProc;
let receiver: Server;
let admin: string;
let dir: string;
const got: Array<{ path: string; headers: IncomingHttpHeaders; body: string }> = [];

const manifest = (command: string, greeting: string): string =>
  [`app: ${APP}`, `run: { command: ${JSON.stringify(command)}, instances: 1 }`, 'health: { path: /health, interval: 300ms, timeout: 1s, retries: 2, start_period: 20s }', `env: { GREETING: ${JSON.stringify(greeting)} }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n');

/** The generic webhook's notices so far (signature checked), by type. */
function notices(): any[] {
  return got
    .filter((g) => g.path === '/hook')
    .map((g) => {
      expect(g.headers['x-gantry-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(g.body).digest('hex')}`);
      const b = JSON.parse(g.body);
      expect(String(b.timestamp)).toBe(g.headers['x-gantry-timestamp']);
      expect(b.delivery).toBe(g.headers['x-gantry-delivery']);
      return b;
    });
}

async function waitFor(pred: () => boolean, what: string, maxMs = 20_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`no ${what}; got ${JSON.stringify(got.map((g) => g.body))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function deploy(): Promise<any> {
  const r = await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
  expect(r.status, r.text).toBe(202);
  return waitFinal(srv.url, admin, r.body.id);
}

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ path: req.url ?? '', headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const port = (receiver.address() as { port: number }).port;
  dir = copyExample('hello-node');
  writeFileSync(join(dir, 'gantry.yaml'), manifest('node server.js', 'first'));
  srv = await startServer({ args: ['--notify-webhook', `http://127.0.0.1:${port}/hook`], env: { GANTRY_NOTIFY_SECRET: SECRET, GANTRY_NOTIFY_SLACK_URL: `http://127.0.0.1:${port}${SLACK_PATH}` } });
  admin = await makeKey(srv.dataDir, 'admin');
  expect((await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'notify' } })).status).toBe(201);
  expect((await api(srv.url, 'POST', '/api/v1/projects/notify/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBe(201);
});

afterAll(async () => {
  if (srv && admin) await api(srv.url, 'POST', `/api/v1/apps/${APP}/stop`, { token: admin, body: {} }).then((r) => (r.status === 202 ? waitFinal(srv.url, admin, r.body.id) : undefined)).catch(() => undefined);
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
  await new Promise((r) => receiver?.close(r));
});

describe('gantry server notifications', () => {
  let first: any;
  it('a deploy is told at its start and its success, signed; the Slack-style url gets its payload too', async () => {
    first = await deploy();
    expect(first.status).toBe('succeeded');
    await waitFor(() => notices().some((n) => n.type === 'deployment.success'), 'success notice');
    const mine = notices().filter((n) => n.data.deployment_id === first.id);
    expect(mine.map((n) => n.type)).toEqual(['deployment.start', 'deployment.success']);
    expect(mine[1].data).toMatchObject({ kind: 'success', app: APP, target: 'local', release: first.external_id, url: first.access_url, duration_ms: expect.any(Number) });
    await waitFor(() => got.filter((g) => g.path === SLACK_PATH).length >= 2, 'slack payloads');
    expect(JSON.parse(got.find((g) => g.path === SLACK_PATH)!.body).text).toContain(APP);
  });

  it('a deploy that fails is told as failure or rollback with its reason; a rollback job as rollback', async () => {
    writeFileSync(join(dir, 'gantry.yaml'), manifest('node missing-entry.js', 'broken'));
    const bad = await deploy();
    expect(['failed', 'rolled_back']).toContain(bad.status);
    await waitFor(() => notices().some((n) => n.data.deployment_id === bad.id && n.type !== 'deployment.start'), 'failure notice', 60_000);
    const end = notices().find((n) => n.data.deployment_id === bad.id && n.type !== 'deployment.start');
    expect(end.type).toBe(bad.status === 'failed' ? 'deployment.failure' : 'deployment.rollback');
    expect(end.data.reason).toEqual(expect.any(String));

    // A second good release, then back to the first.
    writeFileSync(join(dir, 'gantry.yaml'), manifest('node server.js', 'second'));
    expect((await deploy()).status).toBe('succeeded');
    const r = await api(srv.url, 'POST', `/api/v1/apps/${APP}/rollback`, { token: admin, body: {} });
    expect(r.status, r.text).toBe(202);
    const rb = await waitFinal(srv.url, admin, r.body.id);
    expect(rb.status, JSON.stringify(rb)).toBe('succeeded');
    await waitFor(() => notices().some((n) => n.data.deployment_id === rb.id && n.type === 'deployment.rollback'), 'rollback notice');
    // No credential of a channel in the server's output.
    expect(srv.output()).not.toContain(SECRET);
    expect(srv.output()).not.toContain('slacktokenslacktoken42');
  });

  it('--notify-webhook without GANTRY_NOTIFY_SECRET is a usage error (the secret never goes on argv)', async () => {
    const r = await gantry(['server', '--data-dir', newDataDir(), '--port', '0', '--notify-webhook', 'http://127.0.0.1:9/hook'], { cwd: dir, env: { GANTRY_NOTIFY_SECRET: undefined }, timeoutMs: 20_000 });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('GANTRY_NOTIFY_SECRET');
  });
});
