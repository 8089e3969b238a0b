/**
 * Issue 18, outgoing notifications against a real HTTP receiver on loopback: the generic webhook
 * is signed (verified here as a receiver would), Slack gets { text, blocks }, retries are bounded,
 * slow receivers time out, and no secret reaches a payload.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, signedWebhook, verifyHmacSha256, type DeploymentNotice } from '../../src/server/notify/index.js';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: Buffer;
}

const received: Received[] = [];
/** path -> how to answer the next requests there (default 200). */
const script = new Map<string, ((res: ServerResponse) => void)[]>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url!, headers: req.headers, raw: Buffer.concat(chunks) });
      const next = script.get(req.url!)?.shift();
      if (next) next(res);
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const at = (path: string) => received.filter((r) => r.path === path);
const notice = (kind: DeploymentNotice['kind'], extra: Partial<DeploymentNotice> = {}): DeploymentNotice => ({ kind, app: 'hello', target: 'production', deploymentId: 'dep-1', release: '20261201T000000000Z-abc', commit: 'a'.repeat(40), ...extra });

describe('outgoing notifications (real HTTP receiver)', () => {
  it('the generic webhook is signed over its body: the receiver verifies it, and any change to the body breaks it', async () => {
    const secret = 'whsec-0123456789abcdef';
    const n = new Notifier([{ type: 'webhook', url: `${base}/hook`, secret }], { attempts: 1 });
    for (const kind of ['start', 'success', 'failure', 'rollback'] as const) {
      const [r] = await n.notify(notice(kind, kind === 'failure' || kind === 'rollback' ? { reason: 'health check failed' } : {}));
      expect(r).toMatchObject({ ok: true, status: 200, attempts: 1, type: 'webhook', channel: 0 });
    }
    const got = at('/hook');
    expect(got).toHaveLength(4);
    for (const g of got) {
      expect(verifyHmacSha256(secret, g.raw, g.headers['x-gantry-signature'] as string)).toBe(true);
      expect(verifyHmacSha256('another-secret', g.raw, g.headers['x-gantry-signature'] as string)).toBe(false);
      const tampered = Buffer.from(g.raw.toString().replace('"hello"', '"hellp"'));
      expect(verifyHmacSha256(secret, tampered, g.headers['x-gantry-signature'] as string)).toBe(false);
      const body = JSON.parse(g.raw.toString());
      expect(String(body.timestamp)).toBe(g.headers['x-gantry-timestamp']);
      expect(Math.abs(body.timestamp - Date.now() / 1000)).toBeLessThan(60);
      expect(body.delivery).toBe(g.headers['x-gantry-delivery']);
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.raw.toString()).not.toContain(secret);
    }
    expect(got.map((g) => JSON.parse(g.raw.toString()).type)).toEqual(['deployment.start', 'deployment.success', 'deployment.failure', 'deployment.rollback']);
    expect(JSON.parse(got[3].raw.toString()).data).toEqual({ kind: 'rollback', app: 'hello', target: 'production', deployment_id: 'dep-1', release: '20261201T000000000Z-abc', commit: 'a'.repeat(40), reason: 'health check failed' });
    expect(new Set(got.map((g) => g.headers['x-gantry-delivery'])).size).toBe(4);
  });

  it('Slack gets { text, blocks } for each kind, with the reason and markup escaped', async () => {
    const n = new Notifier([{ type: 'slack', url: `${base}/slack/T000/B000/XXXXSLACKTOKEN` }], { attempts: 1 });
    await n.notify(notice('start'));
    await n.notify(notice('failure', { reason: 'health <b>failed</b> & gone', durationMs: 1234 }));
    const [start, failure] = at('/slack/T000/B000/XXXXSLACKTOKEN').map((g) => JSON.parse(g.raw.toString()));
    expect(start.text).toContain('Deploy of hello to production started');
    expect(failure.text).toContain('failed');
    expect(Array.isArray(failure.blocks)).toBe(true);
    expect(failure.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });
    const all = JSON.stringify(failure.blocks);
    expect(all).toContain('health &lt;b&gt;failed&lt;/b&gt; &amp; gone');
    expect(all).toContain('1.2 s');
    expect(all).not.toContain('XXXXSLACKTOKEN');
  });

  it('never a secret in a payload: secret values are redacted from reasons, the channel secrets never appear, extra fields are dropped', async () => {
    const secret = 'whsec-never-in-the-body';
    const canary = 'canary-secret-value-9f8e7d';
    const n = new Notifier(
      [
        { type: 'webhook', url: `${base}/redact`, secret },
        { type: 'slack', url: `${base}/redact-slack/${secret}` },
      ],
      { attempts: 1, secrets: () => ({ DATABASE_URL: canary }) },
    );
    const leaky = { ...notice('failure', { reason: `connect ${canary} refused; signing with ${secret}` }), env: { DATABASE_URL: canary }, platform_config: { token: canary } } as DeploymentNotice;
    const results = await n.notify(leaky);
    expect(results.every((r) => r.ok)).toBe(true);
    for (const g of [...at('/redact'), ...at(`/redact-slack/${secret}`)]) {
      const text = g.raw.toString();
      expect(text).not.toContain(canary);
      expect(text).not.toContain(secret);
      expect(text).toContain('[redacted:DATABASE_URL]');
      expect(text).not.toContain('platform_config');
    }
    expect(JSON.stringify(results)).not.toContain(secret);
  });

  it('retries 5xx and 429 a bounded number of times, not other 4xx, and reports without throwing', async () => {
    script.set('/flaky', [(res) => res.writeHead(503).end(), (res) => res.writeHead(429, { 'retry-after': '0' }).end()]);
    const ok = await new Notifier([{ type: 'webhook', url: `${base}/flaky`, secret: 's3cret-s3cret' }], { attempts: 3, backoffMs: 20 }).notify(notice('success'));
    expect(ok[0]).toMatchObject({ ok: true, status: 200, attempts: 3 });
    expect(at('/flaky')).toHaveLength(3);

    script.set('/down', Array.from({ length: 10 }, () => (res: ServerResponse) => void res.writeHead(500).end()));
    const down = await new Notifier([{ type: 'webhook', url: `${base}/down`, secret: 's3cret-s3cret' }], { attempts: 3, backoffMs: 10 }).notify(notice('failure'));
    expect(down[0]).toMatchObject({ ok: false, status: 500, attempts: 3, error: 'the receiver answered 500' });
    expect(at('/down')).toHaveLength(3);

    script.set('/gone', [(res) => res.writeHead(404).end()]);
    const gone = await new Notifier([{ type: 'webhook', url: `${base}/gone`, secret: 's3cret-s3cret' }], { attempts: 3, backoffMs: 10 }).notify(notice('failure'));
    expect(gone[0]).toMatchObject({ ok: false, status: 404, attempts: 1 });
    expect(at('/gone')).toHaveLength(1);
  });

  it('a receiver that never answers times out per attempt; a closed port fails fast; only the chosen kinds are sent', async () => {
    script.set('/hang', Array.from({ length: 5 }, () => () => undefined));
    const t0 = Date.now();
    const slow = await new Notifier([{ type: 'webhook', url: `${base}/hang`, secret: 's3cret-s3cret' }], { attempts: 2, timeoutMs: 300, backoffMs: 10 }).notify(notice('start'));
    expect(slow[0]).toMatchObject({ ok: false, attempts: 2, error: 'no answer within 300 ms' });
    expect(Date.now() - t0).toBeLessThan(3_000);

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const refused = await new Notifier([{ type: 'slack', url: `http://127.0.0.1:${port}/x` }], { attempts: 2, backoffMs: 10 }).notify(notice('start'));
    expect(refused[0]).toMatchObject({ ok: false, attempts: 2, error: 'ECONNREFUSED' });

    const picky = new Notifier([{ type: 'webhook', url: `${base}/picky`, secret: 's3cret-s3cret', on: ['failure', 'rollback'] }], { attempts: 1 });
    expect(await picky.notify(notice('start'))).toEqual([]);
    expect((await picky.notify(notice('rollback')))[0].ok).toBe(true);
    expect(at('/picky')).toHaveLength(1);
  });

  it('signedWebhook is deterministic over its body for a given time and delivery', () => {
    const { body, headers } = signedWebhook('k3y-k3y-k3y', notice('success'), {}, new Date(1_700_000_000_000));
    expect(JSON.parse(body)).toMatchObject({ type: 'deployment.success', timestamp: 1_700_000_000 });
    expect(verifyHmacSha256('k3y-k3y-k3y', Buffer.from(body), headers['x-gantry-signature'])).toBe(true);
  });
});
