/**
 * The agent's own health gate: an instance the agent (re)started by itself,
 * after its own restart or after a container died, is routed again only once
 * it answers healthy, the same check the engine's gates use.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { request } from 'undici';
import type { AgentHealth } from './protocol.js';

/** Without a recorded health spec: the instance must accept connections. */
const FALLBACK: AgentHealth = { type: 'tcp', path: '/', intervalMs: 1_000, timeoutMs: 2_000, retries: 3, startPeriodMs: 30_000 };
const STARTUP_PROBE_MS = 100;

function tcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

function command(cmd: string, env: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    // The user's own health command, as the process target runs it: one argv element for an explicit shell.
    const child = spawn('/bin/sh', ['-c', cmd], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'ignore', detached: true });
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.on('error', () => resolve(false));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0);
    });
  });
}

/** One probe of http://host:port as the health spec says. */
export async function probeOnce(h: AgentHealth, host: string, port: number, env: Record<string, string> = {}): Promise<boolean> {
  if (h.type === 'tcp') return tcp(host, port, h.timeoutMs);
  if (h.type === 'command') return command(h.command ?? 'true', { ...env, PORT: String(port) }, h.timeoutMs);
  try {
    const res = await request(`http://${host}:${port}${h.path}`, { headersTimeout: h.timeoutMs, bodyTimeout: h.timeoutMs, headers: { 'user-agent': 'gantry-agent-health', connection: 'close' } });
    await res.body.dump();
    return h.expectStatus !== undefined ? res.statusCode === h.expectStatus : res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}

/**
 * Probe until healthy (true) or until the start period plus `retries`
 * intervals have passed, or `alive()` says the instance is gone (false).
 */
export async function passGate(h: AgentHealth | undefined, host: string, port: number, opts: { alive: () => boolean; env?: Record<string, string> }): Promise<boolean> {
  const spec = h ?? FALLBACK;
  const started = Date.now();
  const deadline = started + spec.startPeriodMs + spec.retries * spec.intervalMs;
  while (Date.now() < deadline) {
    if (!opts.alive()) return false;
    if (await probeOnce(spec, host, port, opts.env)) return true;
    await new Promise((r) => setTimeout(r, Date.now() - started < spec.startPeriodMs ? STARTUP_PROBE_MS : spec.intervalMs));
  }
  return false;
}
