/**
 * Secret values are replaced in captured output (hooks, builds, health commands) before
 * it is printed or stored. Values shorter than this are left alone: replacing "1" or "on"
 * everywhere would garble every line while hiding nothing worth hiding.
 */
export const MIN_REDACTED_LENGTH = 4;

/** NAME → value, or [NAME, value] pairs (several versions of one secret may be known at once). */
export type SecretValues = Record<string, string> | Iterable<readonly [string, string]>;

function pairsOf(secrets: SecretValues): Iterable<readonly [string, string]> {
  return Symbol.iterator in secrets ? (secrets as Iterable<readonly [string, string]>) : Object.entries(secrets);
}

/** `text` with every secret value replaced by `[redacted:NAME]`, longest values first (one may contain another). */
export function redactSecrets(text: string, secrets: SecretValues): string {
  const byValue = new Map<string, string>();
  const add = (v: string, name: string): void => {
    if (v.length >= MIN_REDACTED_LENGTH && !byValue.has(v)) byValue.set(v, name);
  };
  for (const [name, v] of pairsOf(secrets)) {
    if (typeof v !== 'string') continue;
    add(v, name);
    // Output is often handled line by line: each line of a multi-line value (a PEM key) is secret too.
    if (v.includes('\n')) for (const line of v.split(/\r?\n/)) add(line, name);
  }
  if (byValue.size === 0 || text.length === 0) return text;
  const values = [...byValue.keys()].filter((v) => text.includes(v));
  if (values.length === 0) return text;
  // One pass, longest alternative first: a marker is never redacted again, a longer value wins over its prefix.
  const re = new RegExp(values.sort((a, b) => b.length - a.length).map(escapeRegExp).join('|'), 'g');
  return text.replace(re, (v) => `[redacted:${byValue.get(v)}]`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The same over any JSON-shaped value (event data, results): every string in it, keys included. */
export function redactDeep<T>(value: T, secrets: SecretValues): T {
  if (typeof value === 'string') return redactSecrets(value, secrets) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactSecrets(k, secrets), redactDeep(v, secrets)])) as T;
  }
  return value;
}
