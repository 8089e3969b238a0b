import { connect } from 'node:net';
import { request } from 'undici';
import { DEFAULTS } from '../core/defaults.js';
import type { Manifest } from '../manifest/index.js';
import { sleep } from './abort.js';
import type { InstanceHandle, TargetRuntime } from './target.js';

import type { HealthSpec } from '../core/health-spec.js';

export type { HealthSpec };

/** The manifest's health section (its schema applied the defaults) as the probes use it. */
export function resolveHealth(h: Manifest['health']): HealthSpec {
  return {
    type: h.type,
    path: h.path,
    command: h.command,
    expectStatus: h.expect_status,
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    retries: h.retries,
    startPeriodMs: h.start_period,
  };
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** One probe of one instance. */
export async function probe(runtime: TargetRuntime, inst: InstanceHandle, spec: HealthSpec): Promise<ProbeResult> {
  const { host, port } = inst.endpoint;
  try {
    if (spec.type === 'tcp') return await tcpProbe(host, port, spec.timeoutMs);
    if (spec.type === 'command') {
      const r = await runtime.healthCommand(inst, spec.command ?? 'true', spec.timeoutMs);
      return { ok: r.ok, detail: r.ok ? 'command succeeded' : `command failed: ${r.output.trim().split('\n').slice(-3).join(' | ')}` };
    }
    const res = await request(`http://${host}:${port}${spec.path}`, {
      method: 'GET',
      headersTimeout: spec.timeoutMs,
      bodyTimeout: spec.timeoutMs,
      headers: { 'user-agent': 'gantry-health', connection: 'close' },
    });
    await res.body.dump();
    const ok = spec.expectStatus !== undefined ? res.statusCode === spec.expectStatus : res.statusCode >= DEFAULTS.health.expectStatusMin && res.statusCode <= DEFAULTS.health.expectStatusMax;
    return { ok, detail: `GET ${spec.path} → ${res.statusCode}` };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, detail: `${spec.type === 'tcp' ? 'connect' : `GET ${spec.path}`}: ${e.code ?? e.message}` };
  }
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: ProbeResult): void => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, detail: 'connect: timeout' }));
    sock.once('connect', () => done({ ok: true, detail: `connected to ${port}` }));
    sock.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, detail: `connect: ${e.code ?? e.message}` }));
  });
}

/** While an instance starts, probe often so a healthy release is switched to without idling. */
const STARTUP_PROBE_MS = 20;
/** How often, while waiting, to ask the runtime whether the instance is still running (a round trip to the agent or engine). */
const LIVENESS_CHECK_MS = 250;

/**
 * Wait until the instance answers healthy. Gives up when the start period plus
 * `retries` intervals have passed, or at once when the instance exits.
 */
export async function waitHealthy(runtime: TargetRuntime, inst: InstanceHandle, spec: HealthSpec, signal?: AbortSignal): Promise<ProbeResult & { ms: number }> {
  const started = Date.now();
  const deadline = started + spec.startPeriodMs + spec.retries * spec.intervalMs;
  let last: ProbeResult = { ok: false, detail: 'not probed yet' };
  let lastLiveness = started;
  while (!signal?.aborted) {
    last = await probe(runtime, inst, spec);
    if (last.ok) return { ...last, ms: Date.now() - started };
    if (Date.now() - lastLiveness < LIVENESS_CHECK_MS && Date.now() < deadline) {
      await sleep(Date.now() - started < spec.startPeriodMs ? STARTUP_PROBE_MS : spec.intervalMs, signal);
      continue;
    }
    lastLiveness = Date.now();
    const observed = (await runtime.instances()).find((i) => i.id === inst.id);
    if (!observed || observed.restarts > 0 || observed.state === 'backoff' || observed.state === 'stopped') {
      const exit = observed?.lastExit;
      const how = exit ? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'is not running';
      return { ok: false, detail: `the instance ${how} before it became healthy (last probe: ${last.detail})`, ms: Date.now() - started };
    }
    if (Date.now() >= deadline) break;
    await sleep(Date.now() - started < spec.startPeriodMs ? STARTUP_PROBE_MS : spec.intervalMs, signal);
  }
  return { ...last, detail: `not healthy after ${Math.round((Date.now() - started) / 1000)}s: ${last.detail}`, ms: Date.now() - started };
}
