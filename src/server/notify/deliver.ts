import { request } from 'undici';
import { DEFAULTS } from '../../core/defaults.js';

export interface DeliveryResult {
  ok: boolean;
  /** The last HTTP status received, if any. */
  status?: number;
  attempts: number;
  /** Why it failed (the url is never in it: a Slack webhook url is itself a credential). */
  error?: string;
}

export interface DeliveryOptions {
  /** Per attempt: connect + headers + body. */
  timeoutMs?: number;
  /** Attempts in all, the first included. */
  attempts?: number;
  /** Doubled after each failed attempt. */
  backoffMs?: number;
}

/**
 * POSTs a body, retrying (bounded) what may pass a moment later: network errors, timeouts,
 * 5xx and 429 (its Retry-After honoured up to the backoff cap). Other 4xx are final. Never throws:
 * a notification that cannot be delivered must not fail the deploy it tells about.
 */
export async function postWithRetries(url: string, body: string, headers: (attempt: number) => Record<string, string>, opts: DeliveryOptions = {}): Promise<DeliveryResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULTS.notify.timeoutMs;
  const attempts = Math.max(1, opts.attempts ?? DEFAULTS.notify.attempts);
  let backoff = opts.backoffMs ?? DEFAULTS.notify.backoffMs;
  let last: DeliveryResult = { ok: false, attempts: 0 };
  for (let attempt = 1; attempt <= attempts; attempt++) {
    let wait = backoff;
    try {
      const res = await request(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'user-agent': 'gantry-notify', ...headers(attempt) },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body.dump().catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true, status: res.statusCode, attempts: attempt };
      last = { ok: false, status: res.statusCode, attempts: attempt, error: `the receiver answered ${res.statusCode}` };
      if (res.statusCode !== 429 && res.statusCode < 500) return last;
      const retryAfter = Number(res.headers['retry-after']);
      if (res.statusCode === 429 && Number.isFinite(retryAfter) && retryAfter >= 0) wait = Math.min(retryAfter * 1000, backoff * 4);
    } catch (e) {
      const err = e as Error & { code?: string };
      const why = err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT' ? `no answer within ${timeoutMs} ms` : (err.code ?? err.name ?? 'network error');
      last = { ok: false, attempts: attempt, error: why };
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, wait));
    backoff *= 2;
  }
  return last;
}
