/** JSON calls to the server's API (same origin), the key in the Authorization header. */
import { currentKey, setKey } from './session';

export interface ApiProblem {
  path: string;
  message: string;
  hint?: string;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly problems?: ApiProblem[],
  ) {
    super(message);
  }
}

export function authHeaders(): Record<string, string> {
  const k = currentKey();
  return k ? { authorization: `Bearer ${k}` } : {};
}

export async function api<T = any>(path: string, opts: { method?: string; body?: unknown; signal?: AbortSignal; token?: string } = {}): Promise<T> {
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : authHeaders();
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
  const text = await res.text();
  let data: any;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const e = data?.error ?? {};
    // A key that stopped working (revoked) signs the tab out; a sign-in attempt reports it instead.
    if (res.status === 401 && !opts.token) setKey(null);
    throw new ApiFailure(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `${res.status} ${res.statusText}`, e.hint, e.problems);
  }
  return data as T;
}

export const enc = encodeURIComponent;
