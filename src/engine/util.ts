/** Small helpers of the engine. */
import { randomBytes } from 'node:crypto';
import { GantryError, isGantryError } from '../core/errors.js';
import type { Manifest } from '../manifest/index.js';
import { DEFAULTS } from '../core/defaults.js';
import type { RouterOptions } from './target.js';

export function newDeploymentId(): string {
  return `d-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
}

export function stringEnv(env: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) out[k] = String(v);
  return out;
}

/** The proxy settings of a manifest (defaults where it predates the `proxy` block). */
export function routerOptions(m: Manifest): RouterOptions {
  return {
    responseTimeoutMs: m.proxy?.response_timeout ?? DEFAULTS.proxy.responseTimeoutMs,
    idleTimeoutMs: m.proxy?.idle_timeout ?? DEFAULTS.proxy.idleTimeoutMs,
  };
}

/** The part of the manifest a release is made of (the overlays are already applied). */
export function releaseManifest(m: Manifest): Record<string, unknown> {
  const { environments: _e, targets: _t, ...rest } = m as Manifest & { environments?: unknown };
  return rest as Record<string, unknown>;
}

const SECRET_KEY_RE = /pass(word)?|secret|token|key|credential/i;

/** Platform config as stored on a deployment: anything that looks like a credential is redacted. */
export function redact(cfg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cfg)) out[k] = SECRET_KEY_RE.test(k) ? '[redacted]' : v && typeof v === 'object' && !Array.isArray(v) ? redact(v as Record<string, unknown>) : v;
  return out;
}

export function toGantryError(err: unknown): GantryError {
  if (isGantryError(err)) return err;
  const e = err as Error;
  return new GantryError('INTERNAL', e?.message ?? String(err), 'this is a bug in Gantry; the stack is in .gantry/gantry-error.log', { stack: e?.stack });
}

/**
 * The first line of a message that may quote output (a failed build's tail):
 * events repeat a failure as this one line, and the full text is printed once,
 * in the result (and kept in the event's data and the deployment's reason).
 */
export function headline(message: string): string {
  const nl = message.indexOf('\n');
  return nl < 0 ? message : `${message.slice(0, nl)} (output in the result)`;
}
