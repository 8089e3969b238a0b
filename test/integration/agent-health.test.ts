/**
 * Issue 15 point 3, health where the instance is: the node agent probes
 * (http, tcp, command) and waits for health (`POST /v1/health/wait`); the
 * runtime asks it and only watches that the instance still runs. Real
 * processes on 127.0.0.1, started by a real agent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAgents } from '../helpers/cli.js';
// The built code: the agent is spawned from dist/agent/main.js.
import { AgentClient } from '../../dist/agent/client.js';
import { ProcessRuntime } from '../../dist/targets/process/runtime.js';
import { processPaths } from '../../dist/targets/process/paths.js';

/** An app whose behaviour the environment picks: its /health status, exiting early, and a count of the probes it got. */
const SERVER = `
const http = require('node:http');
let probes = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/probes') return res.end(String(probes));
  probes++;
  res.writeHead(Number(process.env.STATUS || 200));
  res.end('ok');
});
if (Number(process.env.EXIT_AFTER_MS)) setTimeout(() => process.exit(3), Number(process.env.EXIT_AFTER_MS));
else server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const dir = mkdtempSync(join(tmpdir(), 'gantry-agent-health-'));
const stateDir = join(dir, '.gantry');
const app = `agent-health-${process.pid}`;
const runtime = new ProcessRuntime({
  app,
  targetName: 'local',
  config: { host: '127.0.0.1' },
  appDir: dir,
  stateDir,
  settings: {},
  saveSettings: () => undefined,
  emit: () => undefined,
});
let agent: AgentClient;

const spec = (o: Partial<Record<string, unknown>> = {}) => ({ type: 'http', path: '/health', intervalMs: 100, timeoutMs: 1_000, retries: 2, startPeriodMs: 300, ...o }) as any;
let n = 0;
async function start(env: Record<string, string> = {}) {
  const id = `i${++n}`;
  const release = { id: 'r1', artifact: { kind: 'dir', ref: dir }, run: { command: 'node server.js', port: 3000 }, health: spec(), persist: [] };
  return runtime.startInstance({ id, index: n, release, env: { PATH: process.env.PATH!, ...env }, secretEnv: {} } as any);
}
const request = (inst: { id: string; endpoint: { host: string; port: number } }, health: unknown) => ({ instance: inst.id, endpoint: inst.endpoint, health, where: { kind: 'host' as const } });

beforeAll(async () => {
  writeFileSync(join(dir, 'server.js'), SERVER);
  mkdirSync(stateDir, { recursive: true });
  await runtime.ensureRouter();
  agent = (await AgentClient.find(processPaths(stateDir, app, 'local').agentDir))!;
  expect(agent).toBeDefined();
});

afterAll(async () => {
  await runtime.shutdown(2_000).catch(() => undefined);
  killAgents(dir);
});

describe('the agent waits for health where the instance is (POST /v1/health/wait)', () => {
  it('a healthy app: ok, with the probe that passed', async () => {
    const inst = await start();
    const v = await agent.waitHealthy(request(inst, spec({ startPeriodMs: 10_000 })));
    expect(v).toMatchObject({ ok: true, detail: 'GET /health → 200' });
    expect(v.ms).toBeLessThan(5_000);
  });

  it('an app answering 500: not healthy once the start period and retries have passed, naming the status', async () => {
    const inst = await start({ STATUS: '500' });
    const t0 = Date.now();
    const v = await agent.waitHealthy(request(inst, spec()));
    expect(v.ok).toBe(false);
    expect(v.detail).toMatch(/^not healthy after \d+s: GET \/health → 500$/);
    expect(v.last).toBe('GET /health → 500');
    // 300 ms start period + 2 × 100 ms: it gives up then, not later.
    expect(Date.now() - t0).toBeLessThan(3_000);
    // expect_status decides instead of 2xx-3xx.
    expect(await agent.waitHealthy(request(inst, spec({ expectStatus: 500 })))).toMatchObject({ ok: true });
  });

  it('an app that exits before it is healthy: the agent gives up on connection refused; the runtime fails at once with the exit code', async () => {
    const inst = await start({ EXIT_AFTER_MS: '200' });
    const v = await agent.waitHealthy(request(inst, spec()));
    expect(v).toMatchObject({ ok: false, last: 'GET /health: ECONNREFUSED' });
    const inst2 = await start({ EXIT_AFTER_MS: '200' });
    const t0 = Date.now();
    const r = await runtime.waitHealthy(inst2, spec({ startPeriodMs: 30_000 }));
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^the instance exited with code 3 before it became healthy \(last probe: GET \/health: ECONNREFUSED\)$/);
    // Long before the 30 s start period ends.
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('tcp, and command probes run in a shell beside the instance with its PORT and GANTRY_INSTANCE', async () => {
    const inst = await start();
    expect(await agent.waitHealthy(request(inst, spec({ type: 'tcp', startPeriodMs: 10_000 })))).toMatchObject({ ok: true });
    expect(await agent.probe(request(inst, spec({ type: 'tcp' })))).toEqual({ ok: true, detail: `connected to ${inst.endpoint.port}` });
    const ok = spec({ type: 'command', command: `test "$PORT" = "${inst.endpoint.port}" && test "$GANTRY_INSTANCE" = "${inst.id}"` });
    expect(await agent.waitHealthy(request(inst, ok))).toMatchObject({ ok: true, detail: 'command succeeded' });
    expect(await runtime.probe(inst, ok)).toEqual({ ok: true, detail: 'command succeeded' });
    const bad = spec({ type: 'command', command: 'echo nope >&2; exit 1' });
    const v = await agent.waitHealthy(request(inst, bad));
    expect(v.ok).toBe(false);
    expect(v.detail).toMatch(/not healthy after \d+s: command failed: nope$/);
    expect(await runtime.waitHealthy(inst, bad)).toMatchObject({ ok: false, detail: expect.stringMatching(/command failed: nope$/) });
  });

  it('hanging up ends the wait: the runtime returns at once on abort and the agent stops probing', async () => {
    const inst = await start({ STATUS: '503' });
    // Listening first, so that the probes of the wait below reach the app and are counted.
    expect(await agent.waitHealthy(request(inst, spec({ type: 'tcp', startPeriodMs: 10_000 })))).toMatchObject({ ok: true });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 400);
    const r = await runtime.waitHealthy(inst, spec({ startPeriodMs: 60_000 }), ac.signal);
    expect(r.ok).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1_500);
    // The agent probed every 20 ms while it waited; once the client hung up, no more probes come.
    const count = async () => Number(await (await fetch(`http://127.0.0.1:${inst.endpoint.port}/probes`)).text());
    await new Promise((r) => setTimeout(r, 200));
    const before = await count();
    expect(before).toBeGreaterThan(3);
    await new Promise((r) => setTimeout(r, 500));
    expect(await count()).toBe(before);
  });
});
