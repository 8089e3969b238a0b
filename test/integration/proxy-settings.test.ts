/**
 * The manifest's `proxy:` block reaches the agent's proxy: a deploy with short
 * timeouts makes a slow route answer 504 and a stalled body get cut, and a
 * redeploy with other values changes them on the running agent.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gantry, killAgents } from '../helpers/cli.js';

const SERVER = `
const http = require('node:http');
http.createServer((req, res) => {
  if (req.url === '/health') return res.end('ok');
  if (req.url === '/sleep') return setTimeout(() => res.end('late'), 3000);
  if (req.url === '/stall') { res.writeHead(200); res.write('first'); return; }
  res.end('hi');
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

function manifest(proxy: string): string {
  return ['app: proxy-settings-h14d', 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms }', 'strategy: { type: rolling, watch: 0s }', `proxy: ${proxy}`, 'targets: { local: { type: process } }'].join('\n');
}

/** One GET through the proxy: status (0 = connection cut), body received, time taken. */
function fetchRaw(url: string): Promise<{ status: number; body: string; cut: boolean; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, cut: false, ms: Date.now() - started }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body, cut: true, ms: Date.now() - started }));
      })
      .on('error', () => resolve({ status: 0, body: '', cut: true, ms: Date.now() - started }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'gantry-proxy-settings-'));
afterAll(async () => {
  await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
  killAgents(dir);
});

describe('manifest proxy settings', () => {
  it('response_timeout and idle_timeout from gantry.yaml apply to the proxy, and a redeploy changes them', async () => {
    writeFileSync(join(dir, 'server.js'), SERVER);
    writeFileSync(join(dir, 'gantry.yaml'), manifest('{ response_timeout: 1s, idle_timeout: 1s }'));
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stderr + d.stdout).toBe(0);
    const url: string = d.json.url;
    expect((await fetchRaw(`${url}/`)).body).toBe('hi');

    const slow = await fetchRaw(`${url}/sleep`);
    expect(slow.status).toBe(504);
    expect(slow.ms).toBeLessThan(2900);

    const stalled = await fetchRaw(`${url}/stall`);
    expect(stalled.cut).toBe(true);
    expect(stalled.body).toBe('first');
    expect(stalled.ms).toBeLessThan(2900);

    // Longer limits on the next deploy reach the agent that is already running.
    writeFileSync(join(dir, 'gantry.yaml'), manifest('{ response_timeout: 10s }'));
    const d2 = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d2.code, d2.stderr + d2.stdout).toBe(0);
    expect(d2.json.url).toBe(url);
    const late = await fetchRaw(`${url}/sleep`);
    expect(late.status).toBe(200);
    expect(late.body).toBe('late');
  });
});
