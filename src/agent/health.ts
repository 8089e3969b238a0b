/**
 * Health where the instance is: the one prober and wait loop of Gantry. The
 * engine's gates ask for them over the agent's admin API (`/v1/health/probe`,
 * `/v1/health/wait`); the agent's own gate (instances it restores, containers
 * it starts again) uses the same loop. http (expect_status, or 2xx-3xx), tcp,
 * or the manifest's command run in the instance's environment.
 */
import { PassThrough } from 'node:stream';
import { connect } from 'node:net';
import { undici } from '../proxy/undici-lazy.js';
import { TailBuffer } from '../core/bounded.js';
import { DEFAULTS } from '../core/defaults.js';
import type { DockerClients } from './docker-clients.js';
import type { AgentHealth, AgentHealthVerdict, AgentProbeRequest, AgentProbeResult, AgentProbeWhere } from './protocol.js';
import { runShellCapture } from './shell.js';
import { sleep } from '../core/sleep.js';

/** While an instance starts, probe often so a healthy release is switched to without idling. */
const STARTUP_PROBE_MS = 20;

/** Without a recorded health spec (state written by an older agent): the instance must accept connections. */
export const FALLBACK_HEALTH: AgentHealth = { type: 'tcp', path: '/', intervalMs: 1_000, timeoutMs: 2_000, retries: 3, startPeriodMs: 30_000 };

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<AgentProbeResult> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (r: AgentProbeResult): void => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, detail: 'connect: timeout' }));
    sock.once('connect', () => done({ ok: true, detail: `connected to ${port}` }));
    sock.once('error', (e: NodeJS.ErrnoException) => done({ ok: false, detail: `connect: ${e.code ?? e.message}` }));
  });
}

/** The health command in a container of the instance (`docker exec`), output bounded. */
async function execInContainer(docker: DockerClients, where: Extract<AgentProbeWhere, { kind: 'container' }>, command: string, timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  const client = await docker.get(where.dockerHost);
  const exec = await client.getContainer(where.container).exec({ Cmd: ['/bin/sh', '-c', command], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const output = new TailBuffer();
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => output.push(d));
  client.modem.demuxStream(stream, sink, sink);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((r) => stream.on('end', r)), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  stream.destroy();
  const info = await exec.inspect();
  if (info.Running) return { ok: false, output: `timed out after ${timeoutMs}ms` };
  return { ok: info.ExitCode === 0, output: output.text().slice(-2000) };
}

/** The health command in the instance's environment: a shell beside it (PORT, GANTRY_INSTANCE set) or an exec in its container. */
async function commandProbe(req: AgentProbeRequest, docker: DockerClients): Promise<{ ok: boolean; output: string }> {
  const command = req.health.command ?? 'true';
  if (req.where.kind === 'container') return execInContainer(docker, req.where, command, req.health.timeoutMs);
  const base = req.where.env ?? { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  const r = await runShellCapture(command, { env: { ...base, PORT: String(req.endpoint.port), GANTRY_INSTANCE: req.instance }, timeoutMs: req.health.timeoutMs });
  return { ok: r.exitCode === 0, output: r.output.slice(-2000) };
}

/** One probe of one instance. */
export async function probeInstance(req: AgentProbeRequest, docker: DockerClients): Promise<AgentProbeResult> {
  const spec = req.health;
  const { host, port } = req.endpoint;
  try {
    if (spec.type === 'tcp') return await tcpProbe(host, port, spec.timeoutMs);
    if (spec.type === 'command') {
      const r = await commandProbe(req, docker);
      return { ok: r.ok, detail: r.ok ? 'command succeeded' : `command failed: ${r.output.trim().split('\n').slice(-3).join(' | ')}` };
    }
    const { request } = await undici();
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
    const e = err as NodeJS.ErrnoException & { json?: { message?: string } };
    const what = spec.type === 'tcp' ? 'connect' : spec.type === 'command' ? 'command' : `GET ${spec.path}`;
    return { ok: false, detail: `${what}: ${e.code ?? e.json?.message ?? e.message}` };
  }
}


/**
 * Probe until healthy: fast probes during the start period, then one per
 * interval. Gives up when the start period plus `retries` intervals have
 * passed, when `alive()` says the instance is gone, or when `signal` aborts
 * (the client hung up).
 */
export async function waitHealthy(spec: AgentHealth, probe: () => Promise<AgentProbeResult>, opts: { signal?: AbortSignal; alive?: () => boolean } = {}): Promise<AgentHealthVerdict> {
  const started = Date.now();
  const deadline = started + spec.startPeriodMs + spec.retries * spec.intervalMs;
  let last: AgentProbeResult = { ok: false, detail: 'not probed yet' };
  while (!opts.signal?.aborted) {
    if (opts.alive && !opts.alive()) return { ok: false, detail: `the instance is not running before it became healthy (last probe: ${last.detail})`, last: last.detail, ms: Date.now() - started };
    last = await probe();
    if (last.ok) return { ...last, last: last.detail, ms: Date.now() - started };
    if (Date.now() >= deadline) break;
    await sleep(Date.now() - started < spec.startPeriodMs ? STARTUP_PROBE_MS : spec.intervalMs, opts.signal);
  }
  return { ok: false, detail: `not healthy after ${Math.round((Date.now() - started) / 1000)}s: ${last.detail}`, last: last.detail, ms: Date.now() - started };
}
