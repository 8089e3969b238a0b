/**
 * CLI remote mode: with GANTRY_SERVER (or --server) and GANTRY_TOKEN, deploy,
 * rollback, start, stop, restart, status and logs talk to a `gantry server` instead of the local engine,
 * with the same output and exit codes. The token comes from the environment only
 * (never argv). The app is the one the local manifest names; the server must have it registered.
 */
import { GantryError, type ErrorCode } from '../core/errors.js';
import type { DeployResult, EngineEvent } from '../engine/index.js';
import { loadFor, type GlobalOptions } from './context.js';
import type { Output } from './output.js';

export interface Remote {
  server: string;
  token: string;
}

export interface RemoteOpts {
  server?: string;
}

/** The server to talk to, or undefined to run here. */
export function remoteOf(opts: RemoteOpts): Remote | undefined {
  const server = opts.server ?? process.env.GANTRY_SERVER;
  if (!server) return undefined;
  if (!/^https?:\/\/[^\s/]+/.test(server)) throw new GantryError('USAGE', `the server address "${server}" is not an http(s) URL`, 'e.g. GANTRY_SERVER=http://127.0.0.1:7070');
  const token = process.env.GANTRY_TOKEN;
  if (!token) throw new GantryError('USAGE', `talking to ${server} needs an API key`, 'set GANTRY_TOKEN to a key from `gantry keys create` (it is read from the environment only)');
  return { server: server.replace(/\/+$/, ''), token };
}

/** Refuse a command that has no remote form yet rather than run it on this machine by surprise. */
export function refuseRemote(command: string): void {
  if (process.env.GANTRY_SERVER) throw new GantryError('USAGE', `\`gantry ${command}\` does not work against a server yet (GANTRY_SERVER is set)`, 'unset GANTRY_SERVER to run it on this machine; deploy, rollback, start, stop, restart, status and logs work remotely');
}

const KNOWN: ReadonlySet<string> = new Set(['MANIFEST_INVALID', 'MANIFEST_NOT_FOUND', 'USAGE', 'LOCK_HELD', 'HEALTH_FAILED', 'TARGET_UNKNOWN', 'NOT_DEPLOYED', 'RELEASE_NOT_FOUND', 'SECRET_MISSING', 'NOT_PAUSED', 'NOT_RUNNING', 'BUILD_FAILED', 'START_FAILED']);

function toError(status: number, body: { error?: { code?: string; message?: string; hint?: string; problems?: unknown } } | undefined, what: string): GantryError {
  const e = body?.error;
  const code = (e?.code && KNOWN.has(e.code) ? e.code : status === 400 || status === 404 || status === 422 ? 'USAGE' : 'INTERNAL') as ErrorCode;
  return new GantryError(code, e?.message ? `${e.message}` : `${what}: HTTP ${status}`, e?.hint, e?.problems ? { problems: e.problems } : undefined);
}

async function call(r: Remote, method: string, path: string, body?: unknown): Promise<any> {
  let res: Response;
  try {
    res = await fetch(r.server + path, { method, headers: { authorization: `Bearer ${r.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, body: body !== undefined ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(60_000) });
  } catch (err) {
    throw new GantryError('TARGET_UNAVAILABLE', `the server ${r.server} does not answer: ${(err as Error).message}`, 'check GANTRY_SERVER and that `gantry server` runs there');
  }
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (res.status >= 400) throw toError(res.status, json, `${method} ${path}`);
  return json;
}

/** Server-Sent Events of a path, each handed to `on`, until the stream ends or `on` returns true. */
async function sse(r: Remote, path: string, on: (event: string, data: any) => boolean | void, signal?: AbortSignal): Promise<void> {
  const res = await fetch(r.server + path, { headers: { authorization: `Bearer ${r.token}` }, signal });
  if (res.status !== 200) throw toError(res.status, await res.json().catch(() => undefined), path);
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = 'message';
      let data: any;
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = JSON.parse(line.slice(6));
      }
      if (on(event, data)) return;
    }
  }
}

const appOf = (opts: GlobalOptions): string => loadFor(opts).manifest.app;

/** Queue a job on the server, print its steps as they come, and return its result as the engine gave it. */
async function runJob(r: Remote, opts: GlobalOptions, out: Output, path: string, body: Record<string, unknown>): Promise<DeployResult> {
  const app = appOf(opts);
  const job = await call(r, 'POST', `/api/v1/apps/${app}/${path}`, body);
  out.info(`queued as deployment ${job.id} on ${r.server}`);
  await sse(r, `/api/v1/deployments/${job.id}/events`, (event, data) => {
    if (event === 'step') out.progress({ at: data.at, level: data.level, app, target: job.target, step: data.step, message: data.message } as EngineEvent);
    return event === 'end';
  });
  const done = await call(r, 'GET', `/api/v1/deployments/${job.id}`);
  const result = done.result as (DeployResult & { error?: { code: string; message: string; hint?: string } }) | undefined;
  // The engine refused it before any deployment began (as the local CLI would throw).
  if (!result || (!result.app && result.error)) {
    const e = result?.error;
    throw new GantryError((e?.code ?? 'INTERNAL') as ErrorCode, e?.message ?? done.error ?? `deployment ${job.id} ended ${done.status}`, e?.hint);
  }
  return result;
}

export function remoteDeploy(r: Remote, opts: GlobalOptions & { force?: boolean }, out: Output): Promise<DeployResult> {
  return runJob(r, opts, out, 'deployments', { target: opts.target, force: opts.force, env: opts.env });
}

export function remoteRollback(r: Remote, opts: GlobalOptions, out: Output, release: string | undefined): Promise<DeployResult> {
  return runJob(r, opts, out, 'rollback', { target: opts.target, release });
}

export function remoteLifecycle(r: Remote, opts: GlobalOptions, out: Output, what: 'start' | 'stop' | 'restart', hosts: string[] | undefined): Promise<DeployResult> {
  if (hosts?.length) throw new GantryError('USAGE', `--host does not work against a server yet`, `run \`gantry ${what}\` without --host, or unset GANTRY_SERVER to run it here`);
  return runJob(r, opts, out, what, { target: opts.target });
}

export function remoteStatus(r: Remote, opts: GlobalOptions): Promise<any> {
  const q = opts.target ? `?target=${encodeURIComponent(opts.target)}` : '';
  return call(r, 'GET', `/api/v1/apps/${appOf(opts)}/status${q}`);
}

/** The log lines (the last `lines`, then new ones while `follow`). */
export async function remoteLogs(r: Remote, opts: GlobalOptions, lines: number, follow: boolean, onLine: (l: any) => void, signal?: AbortSignal): Promise<void> {
  const q = `?lines=${lines}${opts.target ? `&target=${encodeURIComponent(opts.target)}` : ''}`;
  const path = `/api/v1/apps/${appOf(opts)}/logs${q}`;
  if (!follow) {
    for (const l of (await call(r, 'GET', path)).lines) onLine(l);
    return;
  }
  try {
    await sse(r, `${path}&follow=1`, (event, data) => {
      if (event === 'log') onLine(data);
    }, signal);
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}
