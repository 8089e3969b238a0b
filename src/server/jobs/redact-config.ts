/**
 * The config a deployment was asked with, as the API shows it: env values are
 * never shown (only their names), and any platform_config field whose name says
 * it holds a credential (key, token, password, kubeconfig ...) is `[redacted]`.
 * A secret reference (`{ secret: NAME }`) names a secret, not its value: kept.
 */
import type { JobParams } from './run-job.js';

const SENSITIVE = /(pass(word)?|secret|token|credential|private|kubeconfig|(^|_)key$|^key|auth|cert)/i;
export const REDACTED = '[redacted]';

function isSecretRef(v: unknown): boolean {
  return typeof v === 'object' && v !== null && Object.keys(v).length === 1 && typeof (v as { secret?: unknown }).secret === 'string';
}

export function redactValue(key: string, v: unknown): unknown {
  if (isSecretRef(v)) return v;
  if (SENSITIVE.test(key)) return REDACTED;
  if (Array.isArray(v)) return v.map((x) => redactValue('', x));
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValue(k, x)]));
  return v;
}

export function redactedConfig(p: JobParams): { platform_config: Record<string, unknown>; env_vars: Record<string, string>; env: string | null; force: boolean; release: string | null } {
  return {
    platform_config: redactValue('', p.platformConfig ?? {}) as Record<string, unknown>,
    env_vars: Object.fromEntries(Object.keys(p.envVars ?? {}).map((k) => [k, REDACTED])),
    env: p.env ?? null,
    force: p.force === true,
    release: p.release ?? null,
  };
}

/** What started the job: a git push (its hook), or an API call with a key. */
export function triggerOf(requestedBy: string, p: JobParams): { by: string; via: 'git-push' | 'api' } {
  return requestedBy.startsWith('hook:') || p.sourceDir ? { by: requestedBy, via: 'git-push' } : { by: requestedBy, via: 'api' };
}
