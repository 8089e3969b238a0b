/** Turning a target's JSON Schema into form fields and form text back into config values. */
import type { JsonSchema } from '../api/types';

export type FieldKind = 'text' | 'number' | 'boolean' | 'select' | 'list' | 'object';

export function kindOf(s: JsonSchema): FieldKind {
  if (s.enum) return 'select';
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (t === 'integer' || t === 'number') return 'number';
  if (t === 'boolean') return 'boolean';
  if (t === 'array') return 'list';
  if (t === 'object' && s.properties) return 'object';
  return 'text';
}

/** Free text as a value: JSON when it looks like an object or array (`{ "secret": "KEY" }`), else the string. */
export function parseLoose(text: string): unknown {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t);
    } catch {
      return text;
    }
  }
  return text;
}

export function showLoose(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Set (or, with undefined, remove) the value at a dotted path, dropping objects left empty. */
export function setAt(obj: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  const out = { ...obj };
  if (rest.length === 0) {
    if (value === undefined) delete out[head!];
    else out[head!] = value;
    return out;
  }
  const inner = setAt((out[head!] as Record<string, unknown>) ?? {}, rest, value);
  if (Object.keys(inner).length === 0) delete out[head!];
  else out[head!] = inner;
  return out;
}

export function getAt(obj: Record<string, unknown>, path: string[]): unknown {
  let cur: unknown = obj;
  for (const k of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

/**
 * A validation problem's field: `platform_config.port` (the config's own schema) or
 * `targets.<name>.port` (the app's manifest with the config applied) → `port`.
 */
export function fieldOf(problemPath: string): string | undefined {
  const p = problemPath.replace(/\[(\d+)\]/g, '.$1');
  if (p.startsWith('platform_config.')) return p.slice('platform_config.'.length);
  const m = /^targets\.[^.]+\.(.+)$/.exec(p);
  return m ? m[1] : undefined;
}

/** The form field a problem belongs to: the longest field path that prefixes it (`hosts.0` → `hosts`). */
export function fieldFor(problemPath: string, fields: string[]): string | undefined {
  const f = fieldOf(problemPath);
  if (f === undefined) return undefined;
  return fields.filter((x) => f === x || f.startsWith(`${x}.`)).sort((a, b) => b.length - a.length)[0];
}

/** Every leaf field's dotted path (objects with properties are walked into). */
export function leafPaths(s: JsonSchema, prefix: string[] = []): string[] {
  if (kindOf(s) !== 'object') return prefix.length ? [prefix.join('.')] : [];
  return Object.entries(s.properties ?? {}).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}
