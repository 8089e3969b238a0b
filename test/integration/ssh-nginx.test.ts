import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGantryError } from '../../src/core/errors.js';
import { loadCredentials } from '../../src/targets/ssh/auth.js';
import { SshConnection } from '../../src/targets/ssh/connection.js';
import { applyNginxSite, checkNginx, removeNginxSite } from '../../src/targets/ssh/nginx-host.js';
import { sshHostsProblem, startSshHosts, type TestHost, type TestHosts } from '../helpers/ssh-hosts.js';

// One real host (systemd + sshd, Debian 12 with nginx-light installed but not running): the
// site goes in front of a small HTTP server on the host's loopback (standing in for the
// agent's proxy) and the test reaches it through nginx on the host's address, as a client
// would. `docker exec` only sets up the upstream and observes.
const APP = 'sshnginx-web';
const UPSTREAM_PORT = 18_090;
const MARK = 'served-by-the-upstream-7c1e';
const SITE = `/etc/nginx/sites-available/gantry-${APP}.conf`;
const LINK = `/etc/nginx/sites-enabled/gantry-${APP}.conf`;
const CERT = '/etc/ssl/gantry-test/site.pem';
const KEY = '/etc/ssl/gantry-test/site.key';

const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`ssh-nginx tests skipped: ${sshHostsProblem}`);

let fleet: TestHosts;
let host: TestHost;
let conn: SshConnection;
let tmp: string;
const insecure = new Agent({ connect: { rejectUnauthorized: false } });

async function get(url: string): Promise<{ status: number; body: string; location?: string }> {
  const r = await request(url, { dispatcher: insecure, headersTimeout: 5_000, bodyTimeout: 5_000 });
  const location = r.headers.location;
  return { status: r.statusCode, body: await r.body.text(), ...(typeof location === 'string' ? { location } : {}) };
}

/** The reload takes effect a moment after `systemctl reload` returns: polls, bounded. */
async function until(url: string, ok: (r: { status: number; body: string; location?: string }) => boolean): Promise<{ status: number; body: string; location?: string }> {
  let last: { status: number; body: string; location?: string } | undefined;
  let error: unknown;
  for (let i = 0; i < 50; i++) {
    try {
      last = await get(url);
      if (ok(last)) return last;
    } catch (e) {
      error = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered as expected: ${last ? `${last.status} ${last.body.slice(0, 200)}` : String(error)}`);
}

const isLink = (path: string) => host.exec('test', '-L', path).then(() => true, () => false);

describeHosts('the nginx site on a real host (reverse_proxy: nginx)', () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'gantry-sshnginx-'));
    fleet = await startSshHosts(1, { tag: 'sshnginx' });
    host = fleet.hosts[0]!;
    const credentials = await loadCredentials({ key: { file: fleet.key.file }, agent: false, baseDir: tmp });
    const knownHostsFile = join(tmp, 'known_hosts');
    writeFileSync(knownHostsFile, host.knownHostsLines());
    conn = await SshConnection.open({ endpoint: { host: host.ip, port: 22, user: 'root', name: 'host1' }, credentials, knownHostsFile, trustOnFirstUse: false, connectTimeoutMs: 10_000, commandTimeoutMs: 60_000 });
    // The upstream: a static server on the loopback only, and a self-signed certificate.
    await host.exec('sh', '-c', `mkdir -p /srv/upstream /etc/ssl/gantry-test && echo ${MARK} > /srv/upstream/index.html`);
    await host.exec('systemd-run', '--unit', 'nginx-test-upstream', 'python3', '-m', 'http.server', String(UPSTREAM_PORT), '--bind', '127.0.0.1', '--directory', '/srv/upstream');
    await host.exec('openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=gantry-test', '-keyout', KEY, '-out', CERT);
  }, 180_000);

  afterAll(async () => {
    await insecure.close();
    await conn?.close().catch(() => undefined);
    await fleet?.remove();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  it("doctor's check finds nginx, and names certificate files the host lacks", async () => {
    expect(await checkNginx(conn)).toEqual([{ name: 'host1: nginx', ok: true, detail: expect.stringMatching(/^nginx\/1\.\d+/) }]);
    const checks = await checkNginx(conn, { tls: { certificate: CERT, key: '/etc/ssl/gantry-test/missing.key' } });
    expect(checks[1]).toEqual(expect.objectContaining({ name: 'host1: tls files', ok: false, detail: 'not readable on the host: /etc/ssl/gantry-test/missing.key' }));
  });

  it('writes the site, starts nginx (it was not running) and serves the upstream on port 80 of the host', async () => {
    expect(await host.exec('systemctl', 'is-active', 'nginx').catch((e: { stdout?: string }) => e.stdout ?? '')).toMatch(/inactive/);
    expect(await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT })).toEqual({ changed: true, nginx: 'started' });
    expect((await until(`http://${host.ip}/`, (r) => r.status === 200)).body.trim()).toBe(MARK);
    expect(await isLink(LINK)).toBe(true);
    // Without a server_name the site is the default server: Debian's stock one gave way (and says so in the site).
    expect(await isLink('/etc/nginx/sites-enabled/default')).toBe(false);
    expect(await host.exec('cat', SITE)).toContain('# gantry: disabled the stock default site');
    expect((await host.exec('systemctl', 'is-enabled', 'nginx')).trim()).toBe('enabled');
    // The same site again: nothing written, nothing reloaded.
    expect(await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT })).toEqual({ changed: false, nginx: 'unchanged' });
    // The same site with nginx stopped (a host whose nginx was stopped by hand): started again.
    await host.exec('systemctl', 'stop', 'nginx');
    expect(await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT })).toEqual({ changed: false, nginx: 'started' });
    expect((await until(`http://${host.ip}/`, (r) => r.status === 200)).body.trim()).toBe(MARK);
  });

  it('serves HTTPS from the certificate paths and redirects plain HTTP there', async () => {
    expect(await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT, tls: { certificate: CERT, key: KEY } })).toEqual({ changed: true, nginx: 'reloaded' });
    expect((await until(`https://${host.ip}/`, (r) => r.status === 200)).body.trim()).toBe(MARK);
    const redirect = await until(`http://${host.ip}/some/path?q=1`, (r) => r.status === 301);
    expect(redirect.location).toBe(`https://${host.ip}/some/path?q=1`);
  });

  it('a site nginx -t refuses (a certificate path that does not exist) fails naming the host, and the previous site is put back and keeps serving', async () => {
    const before = await host.exec('cat', SITE);
    const err = await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT, tls: { certificate: '/etc/ssl/gantry-test/absent.pem', key: KEY } }).catch((e: unknown) => e);
    expect(isGantryError(err) && err.code).toBe('NGINX_FAILED');
    const e = err as Error & { hint?: string };
    expect(e.message).toMatch(/^host1: nginx -t failed with the site of sshnginx-web:/);
    expect(e.message).toContain('/etc/ssl/gantry-test/absent.pem');
    expect(e.hint).toMatch(/previous nginx configuration was put back/);
    expect(await host.exec('cat', SITE)).toBe(before);
    expect(await isLink(LINK)).toBe(true);
    expect((await host.exec('nginx', '-t').then(() => 'ok'))).toBe('ok');
    expect((await get(`https://${host.ip}/`)).body.trim()).toBe(MARK);
  });

  it('a host whose nginx configuration is already broken is told so, and keeps the previous site', async () => {
    const before = await host.exec('cat', SITE);
    await host.exec('sh', '-c', 'echo "this is not nginx;" > /etc/nginx/conf.d/broken.conf');
    try {
      const err = await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT }).catch((e: unknown) => e);
      expect(isGantryError(err) && err.code).toBe('NGINX_FAILED');
      expect((err as Error).message).toMatch(/^host1: nginx's configuration is invalid, also without the site of sshnginx-web:\n.*broken\.conf/s);
      expect(await host.exec('cat', SITE)).toBe(before);
    } finally {
      await host.exec('rm', '-f', '/etc/nginx/conf.d/broken.conf');
    }
  });

  it('with a server_name the stock default site comes back; removing the site leaves nginx serving only what was there before', async () => {
    expect(await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT, serverName: 'web.example.test' })).toEqual({ changed: true, nginx: 'reloaded' });
    expect(await isLink('/etc/nginx/sites-enabled/default')).toBe(true);
    // Requests by IP are the stock site's; requests for the server name are ours.
    expect((await until(`http://${host.ip}/`, (r) => r.status === 200 && !r.body.includes(MARK))).body).toMatch(/nginx/i);
    const ours = await request(`http://${host.ip}/`, { headers: { host: 'web.example.test' } });
    expect((await ours.body.text()).trim()).toBe(MARK);

    // Back to no server_name, then remove: the stock default site is enabled again.
    await applyNginxSite(conn, { app: APP, upstreamPort: UPSTREAM_PORT });
    expect(await isLink('/etc/nginx/sites-enabled/default')).toBe(false);
    expect((await until(`http://${host.ip}/`, (r) => r.body.trim() === MARK)).status).toBe(200);
    expect(await removeNginxSite(conn, APP)).toEqual({ changed: true });
    expect(await host.exec('sh', '-c', `ls ${SITE}* ${LINK} 2>/dev/null || true`)).toBe('');
    expect(await isLink('/etc/nginx/sites-enabled/default')).toBe(true);
    expect((await until(`http://${host.ip}/`, (r) => r.status === 200 && !r.body.includes(MARK))).body).toMatch(/welcome to nginx/i);
    expect(await removeNginxSite(conn, APP)).toEqual({ changed: false });
  });
});
