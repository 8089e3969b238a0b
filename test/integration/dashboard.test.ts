/**
 * Issue 19: the dashboard in a real browser (Debian's Chromium driven by
 * playwright-core) against a real `gantry server` on loopback deploying the
 * example app on the process target: sign in, the project switcher, the whole
 * deploy wizard (a validation error at its field, then a deploy that reaches
 * `succeeded`), the access URL, live logs, restart/stop/start, rollback with
 * confirmation and a config diff, the deployment page, a 100,000-line log tail,
 * a narrow screen. No console error and no request outside the server's origin.
 * One server and one browser for the whole file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { copyExample, ROOT } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { api, killServerAgents, makeKey, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'dash-hello';
const BURST = 'dash-burst';
const CANARY = 'dash-canary';
const ARTIFACTS = join(ROOT, 'test/artifacts');
/** Bounds of every poll (vitest's default is 1 s). */
const POLL = { timeout: 30_000 };
const CHROMIUM = '/usr/bin/chromium';
let srv: ServerProc;
let admin: string;
let browser: BrowserContext;
let page: Page;
let firstRelease: string;
let wizardDeployment: string;
let accessUrl: string;
const consoleErrors: string[] = [];
const outside: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  // GANTRY_DOCS_SCREENSHOTS=1 refreshes the README's screenshots (docs/screenshots/) from this run.
  if (process.env.GANTRY_DOCS_SCREENSHOTS === '1' && /^(dashboard|wizard-)/.test(name)) copyFileSync(join(ARTIFACTS, `${name}.png`), join(ROOT, 'docs/screenshots', `${name}.png`));
}

async function deployApi(body: Record<string, unknown>): Promise<any> {
  const r = await api(srv.url, 'POST', '/api/v1/deploy/unified', { token: admin, body });
  expect(r.status, r.text).toBe(202);
  return waitFinal(srv.url, admin, r.body.id);
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (process.env.GANTRY_DOCS_SCREENSHOTS === '1') mkdirSync(join(ROOT, 'docs/screenshots'), { recursive: true });
  const hello = copyExample('hello-node');
  writeFileSync(join(hello, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 300ms, start_period: 10s }', 'env: { GREETING: "first release" }', 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));
  // An app that prints 100,000 lines when asked (the log viewer's load).
  const burst = mkdtempSync(join(tmpdir(), 'gantry-burst-'));
  writeFileSync(join(burst, 'server.js'), "const http = require('node:http');\nhttp.createServer((req, res) => {\n  if (req.url === '/burst') {\n    let s = '';\n    for (let i = 1; i <= 100000; i++) {\n      s += `burst line ${String(i).padStart(6, '0')}\\n`;\n      if (i % 1000 === 0) { process.stdout.write(s); s = ''; }\n    }\n  }\n  res.end('ok');\n}).listen(Number(process.env.PORT), process.env.HOST, () => console.log('burst ready'));\n");
  writeFileSync(join(burst, 'gantry.yaml'), [`app: ${BURST}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /, interval: 300ms, start_period: 10s }', 'strategy: { type: recreate, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));

  // A canary that waits for promotion at 50 %.
  const canary = copyExample('hello-node');
  writeFileSync(join(canary, 'gantry.yaml'), [`app: ${CANARY}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 300ms, start_period: 10s }', 'strategy: { type: canary, steps: [50, 100], pause: manual, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'));

  srv = await startServer();
  admin = await makeKey(srv.dataDir, 'admin');
  for (const id of ['web', 'other']) expect((await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id } })).status).toBe(201);
  for (const dir of [hello, burst, canary]) expect((await api(srv.url, 'POST', '/api/v1/projects/web/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBe(201);
  const [first, ...others] = await Promise.all([deployApi({ app: APP, deployment_type: 'process' }), deployApi({ app: BURST, deployment_type: 'process' }), deployApi({ app: CANARY, deployment_type: 'process' })]);
  expect(first.status).toBe('succeeded');
  for (const d of others) expect(d.status).toBe('succeeded');
  firstRelease = first.external_id;

  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'gantry-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  page.on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(`${srv.url}/`) && !u.startsWith('blob:') && !u.startsWith('data:')) outside.push(u);
  });
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  if (srv && admin) for (const app of [APP, BURST, CANARY]) await api(srv.url, 'POST', `/api/v1/apps/${app}/stop`, { token: admin, body: {} }).then((r) => (r.status === 202 ? waitFinal(srv.url, admin, r.body.id) : undefined)).catch(() => undefined);
  await stopServer(srv);
  if (srv) killServerAgents(srv.dataDir);
});

describe('dashboard in a real browser', () => {
  it('signs in with an API key (never in the URL) and switches project', async () => {
    await page.goto(srv.url);
    await page.getByLabel('API key').fill('gk_key_wrongwrongwrongwr_' + 'x'.repeat(43));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent(), POLL).toMatch(/not valid/);
    consoleErrors.length = 0; // the browser logs the refused key's 401 by itself
    await page.getByLabel('API key').fill(admin);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    expect(page.url()).not.toContain(admin.slice(-10));
    expect(await page.evaluate(() => sessionStorage.getItem('gantry.key'))).toBe(admin);
    await page.locator(`article[aria-labelledby="app-${APP}"] [data-status="running"]`).waitFor();
    await page.getByLabel('Project').selectOption('other');
    await expect.poll(() => page.locator('.app-card').count(), POLL).toBe(0);
    await page.getByLabel('Project').selectOption('web');
    await page.locator(`article[aria-labelledby="app-${APP}"] [data-status="running"]`).waitFor();
    await page.locator(`article[aria-labelledby="app-${BURST}"] [data-status="running"]`).waitFor();
    await shot('dashboard');
  });

  it('the wizard: platforms with their prerequisites, a validation error at its field, env vars masked, one-click deploy to succeeded', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deploy' }).click();
    await page.getByLabel('App', { exact: true }).selectOption(APP);
    const processCard = page.locator('[data-platform="process"]');
    await processCard.locator('[data-ready]').waitFor();
    expect(await page.locator('[data-platform]').count()).toBeGreaterThanOrEqual(4);
    expect(await processCard.locator('[data-ready]').getAttribute('data-ready')).toBe('true');
    // Keyboard: focus the card's button and press Enter.
    await processCard.getByRole('button', { name: 'Choose process' }).focus();
    await page.keyboard.press('Enter');
    expect(await processCard.getByRole('button', { name: 'Chosen' }).getAttribute('aria-pressed')).toBe('true');
    await shot('wizard-1-platform');
    await page.getByRole('button', { name: 'Next' }).click();

    // Step 2: a port out of range is refused by the server's validation, shown at the port field.
    const port = page.getByLabel('port');
    await port.fill('70000');
    const portError = page.locator('[data-field="port"] .field-error');
    await portError.waitFor();
    expect(await portError.textContent()).toMatch(/65535/);
    expect(await port.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('[data-field="host"] .field-error').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Next' }).isDisabled()).toBe(true);
    await shot('wizard-2-config-error');
    await port.fill('');
    await page.locator('#validation-state[data-valid="true"]').waitFor();
    expect(await portError.count()).toBe(0);
    await shot('wizard-2-config');
    await page.getByRole('button', { name: 'Next' }).click();

    // Step 3: an env var; its value is masked.
    await page.getByRole('button', { name: 'Add variable' }).click();
    await page.getByLabel('Variable name').fill('GREETING');
    const value = page.getByLabel('Value of GREETING');
    await value.fill('from the wizard');
    expect(await value.getAttribute('type')).toBe('password');
    await shot('wizard-3-env');
    await page.getByRole('button', { name: 'Next' }).click();

    // Step 4: review (values still masked), then one click.
    await page.getByRole('heading', { name: 'Review', exact: true }).waitFor();
    expect(await page.locator('main').textContent()).not.toContain('from the wizard');
    await shot('wizard-4-review');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();

    // Step 5: live progress to succeeded, then the access URL.
    await page.locator('.timeline .step').first().waitFor();
    await page.locator('[data-testid="deployment-status"] [data-status="succeeded"]').waitFor({ timeout: 90_000 });
    const link = page.locator('a.access-url.big');
    await link.waitFor();
    accessUrl = (await link.getAttribute('href'))!;
    expect(accessUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    wizardDeployment = (await page.locator('a', { hasText: 'Deployment details' }).getAttribute('href'))!.split('/').pop()!;
    await shot('wizard-5-progress');
    // Opening it: the app answers 200 with this release's greeting.
    const [popup] = await Promise.all([browser.waitForEvent('page'), link.click()]);
    // waitForLoadState, not waitForEvent('load'): the popup may have loaded before a listener is attached.
    await popup.waitForLoadState('load');
    const res = await popup.content();
    expect(res).toContain('from the wizard');
    const direct = await get(accessUrl + '/');
    expect(direct.status).toBe(200);
    expect(JSON.parse(direct.body).message).toBe('from the wizard');
    await popup.close();
  });

  it('new log lines arrive live; restart, stop and start each end succeeded', async () => {
    const count = page.locator('[data-testid="log-count"]');
    await expect.poll(async () => Number(await count.getAttribute('data-count')), POLL).toBeGreaterThan(0);
    const before = Number(await count.getAttribute('data-count'));
    const controls = page.getByRole('group', { name: 'Controls of local' });
    await controls.getByRole('button', { name: 'Restart', exact: true }).click();
    await controls.locator('[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    // The restarted instance's start line reaches the open viewer.
    await expect.poll(async () => Number(await count.getAttribute('data-count')), POLL).toBeGreaterThan(before);
    await expect.poll(() => page.locator('.log-scroll').textContent(), POLL).toMatch(/listening on/);

    await controls.getByRole('button', { name: 'Stop', exact: true }).click();
    await controls.locator('[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    expect((await api(srv.url, 'GET', `/api/v1/apps/${APP}/status`, { token: admin })).body.targets[0].state).toBe('stopped');
    // Stopped: nothing serves the app (the proxy is gone, or answers 503 while no instance runs).
    expect(String(await get(accessUrl + '/', 2000).then((r) => r.status, () => 'refused'))).toMatch(/^(refused|503)$/);
    await controls.getByRole('button', { name: 'Start', exact: true }).click();
    await controls.locator('[data-status="succeeded"]').waitFor({ timeout: 60_000 });
    const back = await get(accessUrl + '/');
    expect(back.status).toBe(200);
    expect(JSON.parse(back.body).message).toBe('from the wizard');
  });

  it('history: a config diff of two releases, then rollback only after confirmation', async () => {
    await page.getByRole('link', { name: 'History' }).click();
    const rows = page.locator('table[aria-label="Releases"] tbody tr');
    await expect.poll(() => rows.count(), POLL).toBe(2);
    await page.getByLabel('Compare v1').check();
    await page.getByLabel('Compare v2').check();
    const diff = page.locator('table[aria-label="Config diff"]');
    await diff.waitFor();
    expect(await diff.textContent()).toContain('env.GREETING');
    expect(await diff.textContent()).not.toContain('from the wizard');
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await shot('history-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.locator('[data-testid="rollback-status"]').count()).toBe(0);
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.locator('[data-testid="rollback-status"] [data-status="succeeded"]').waitFor({ timeout: 60_000 });
    const r = await get(accessUrl + '/');
    expect(JSON.parse(r.body)).toMatchObject({ message: 'first release', release: firstRelease });
    await expect.poll(() => page.locator(`tr[data-release="${firstRelease}"]`).textContent(), POLL).toContain('(current)');
    await shot('history');
  });

  it('the deployment page: steps, trigger, duration, the seeds\' fields and a redacted config', async () => {
    await page.goto(`${srv.url}/deployments/${wizardDeployment}`);
    await page.locator('[data-testid="deployment-status"] [data-status="succeeded"]').waitFor();
    expect(await page.locator('[data-field="external_id"]').textContent()).toMatch(/^\d{8}T/);
    expect(await page.locator('[data-field="access_url"]').textContent()).toBe(accessUrl);
    expect(await page.locator('[data-field="registry_image"]').textContent()).toBe('—');
    // The steps come over SSE, apart from the facts above (read over REST): they may land later.
    await expect.poll(() => page.locator('.timeline .step').count(), POLL).toBeGreaterThan(3);
    await page.getByText('Config (redacted)').click();
    const cfg = await page.getByLabel('Redacted config').textContent();
    expect(cfg).toContain('"GREETING": "[redacted]"');
    expect(await page.locator('main').textContent()).not.toContain('from the wizard');
    await shot('deployment');
  });

  it('the log viewer holds 100,000 lines in a virtualised list, and search finds one', async () => {
    await page.goto(`${srv.url}/apps/${BURST}/logs?target=local`);
    const count = page.locator('[data-testid="log-count"]');
    await expect.poll(() => count.textContent(), POLL).toMatch(/live/);
    await expect.poll(async () => Number(await count.getAttribute('data-count')), POLL).toBeGreaterThan(0);
    expect((await get(`${(await api(srv.url, 'GET', `/api/v1/apps/${BURST}/status`, { token: admin })).body.targets[0].url}/burst`, 30_000)).status).toBe(200);
    await expect.poll(async () => Number(await count.getAttribute('data-count')), { timeout: 90_000, intervals: [500] }).toBeGreaterThanOrEqual(100_000);
    expect(await page.locator('.log-line').count()).toBeLessThan(300);
    await page.getByLabel('Search the logs').fill('burst line 099999');
    await expect.poll(() => count.getAttribute('data-matches'), POLL).toBe('1');
    expect(await page.locator('.log-line').first().textContent()).toContain('burst line 099999');
    // Download: every line held, as a file (a blob from the page, no request anywhere).
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    expect(dl.suggestedFilename()).toBe(`${BURST}-local.log`);
    const file = readFileSync((await dl.path())!, 'utf8');
    expect(file).toContain('burst line 000001');
    expect(file).toContain('burst line 100000');
    // Pause holds the view; the page still answers.
    await page.getByRole('button', { name: 'Pause' }).click();
    expect(await page.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed')).toBe('true');
    await shot('logs');
  });

  it('a canary paused for promotion: live figures per release, then Promote finishes it', async () => {
    const d = await api(srv.url, 'POST', `/api/v1/apps/${CANARY}/deployments`, { token: admin, body: { force: true } });
    expect(d.status, d.text).toBe(202);
    await page.goto(`${srv.url}/apps/${CANARY}/history?target=local`);
    const panel = page.locator('section[aria-labelledby="canary-title"]');
    await panel.waitFor({ timeout: 60_000 });
    // Requests through the proxy give the live figures something to count.
    const url = (await api(srv.url, 'GET', `/api/v1/apps/${CANARY}/status`, { token: admin })).body.targets[0].url;
    for (let i = 0; i < 20; i++) expect((await get(`${url}/`)).status).toBe(200);
    // The canary's row counts requests (the panel reads the proxy's figures every few seconds).
    const canaryRequests = panel.locator('figure table').first().locator('tbody tr', { hasText: 'canary' }).locator('td').nth(2);
    await expect.poll(async () => Number(await canaryRequests.textContent()), POLL).toBeGreaterThan(0);
    expect(await panel.locator('svg').count()).toBeGreaterThan(0);
    await shot('canary');
    await panel.getByRole('button', { name: 'Promote' }).click();
    expect((await waitFinal(srv.url, admin, d.body.id)).status).toBe('succeeded');
    await panel.waitFor({ state: 'detached', timeout: 30_000 });
  });

  it('a narrow screen has no sideways scrolling; keyboard reaches the main navigation first', async () => {
    await page.setViewportSize({ width: 360, height: 740 });
    for (const path of ['/', '/deploy', `/apps/${APP}`]) {
      await page.goto(srv.url + path);
      await page.locator('main h1').first().waitFor();
      expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), path).toBe(true);
    }
    await shot('narrow-app');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Gantry');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('no console errors and no request outside the server\'s origin', () => {
    expect(consoleErrors).toEqual([]);
    expect(outside).toEqual([]);
  });
});
