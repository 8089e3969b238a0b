/**
 * Turn zod issues into plain-language problems: what was expected, what was
 * found, and a hint. Positions are added later (see load.ts).
 */
import type { ZodType, core as zcore } from 'zod';
import { formatPath, type PathSegment } from './positions.js';
import { helpOf, isIntSchema, objectKeys, recordKeySchema, schemaAt } from './schema-walk.js';
import { closest, didYouMean, quoteList } from './suggest.js';

export interface Draft {
  path: PathSegment[];
  /** Point at the key (unknown or invalid keys) or at the value. */
  at: 'key' | 'value';
  message: string;
  hint: string;
}

type Issue = zcore.$ZodIssue;

const FALLBACK_HINT = 'see schema/gantry.schema.json for what is allowed here';

/** Keys that were in the schema once, by `parent.key`, with what to do instead. */
const REMOVED_KEYS: Record<string, string> = {
  // Issue 15: a failed gate always restores the previous release; `false` was never honoured.
  'strategy.auto_rollback': 'remove it: a rollout that fails a health check, canary analysis or the watch window always goes back to the previous release',
};

function lookup(value: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let cur = value;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return { found: false, value: undefined };
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return { found: true, value: cur };
}

/** A short description of a value for "found …". */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return v.length > 40 ? `the string ${JSON.stringify(v.slice(0, 37) + '...')}` : `the string ${JSON.stringify(v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v;
}

const EXPECTED: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  map: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  null: 'an empty value',
  bigint: 'an integer',
};
const expectedText = (t: string): string => EXPECTED[t] ?? `a ${t}`;

const segs = (path: readonly PropertyKey[]): PathSegment[] => path.map((p) => (typeof p === 'number' ? p : String(p)));

function hintFrom(root: ZodType, path: readonly PathSegment[], value: unknown, schema = schemaAt(root, path)): string {
  const help = helpOf(schema);
  const h = typeof help.hint === 'function' ? help.hint(value) : help.hint;
  if (h) return h;
  const key = [...path].reverse().find((s) => typeof s === 'string');
  if (help.description) return key ? `${key}: ${help.description}` : help.description;
  return FALLBACK_HINT;
}

function sizeText(origin: string, bound: number | bigint, inclusive: boolean | undefined, dir: 'min' | 'max'): string {
  const n = Number(bound);
  if (origin === 'array' || origin === 'set') {
    if (dir === 'min') return n === 1 ? 'must not be empty' : `must have at least ${n} items`;
    return `must have at most ${n} item${n === 1 ? '' : 's'}`;
  }
  if (origin === 'string') {
    if (dir === 'min') return n === 1 ? 'must not be empty' : `must be at least ${n} characters long`;
    return `must be at most ${n} characters long`;
  }
  if (dir === 'min') return inclusive === false ? `must be greater than ${n}` : `must be at least ${n}`;
  return inclusive === false ? `must be less than ${n}` : `must be at most ${n}`;
}

const isTrivial = (errs: readonly Issue[]): boolean =>
  errs.length === 1 && errs[0]!.path.length === 0 && (errs[0]!.code === 'invalid_type' || errs[0]!.code === 'invalid_value');

/**
 * Convert issues from parsing `value` with `root`. Issue paths are relative
 * to `root`; `prefix` is prepended to the paths of the drafts.
 */
export function issuesToDrafts(issues: readonly Issue[], root: ZodType, value: unknown, prefix: readonly PathSegment[] = []): Draft[] {
  const out: Draft[] = [];
  const push = (path: PathSegment[], at: Draft['at'], message: string, hint: string) => out.push({ path: [...prefix, ...path], at, message, hint });

  const convert = (issue: Issue, base: readonly PathSegment[]) => {
    const path = [...base, ...segs(issue.path)];
    const { found, value: v } = lookup(value, path);
    const key = path.at(-1);
    switch (issue.code) {
      case 'invalid_type': {
        if (!found && typeof key === 'string') {
          const parent = path.slice(0, -1);
          const where = parent.length ? `under "${formatPath([...prefix, ...parent])}"` : 'at the top level';
          const help = helpOf(schemaAt(root, path));
          push(path, 'value', `missing required key "${key}"`, `add "${key}:" ${where}${help.description ? ` (${help.description})` : ''}`);
          return;
        }
        const schema = schemaAt(root, path);
        const help = helpOf(schema);
        const expected = help.expected ?? expectedText(issue.expected === 'number' && isIntSchema(schema) ? 'int' : issue.expected);
        let hint: string;
        if (typeof v === 'string' && (issue.expected === 'number' || issue.expected === 'int') && v.trim() !== '' && !Number.isNaN(Number(v))) {
          hint = `remove the quotes: ${typeof key === 'string' ? `${key}: ` : ''}${v.trim()}`;
        } else if ((typeof v === 'number' || typeof v === 'boolean') && issue.expected === 'string') {
          hint = `quote the value: ${typeof key === 'string' ? `${key}: ` : ''}"${String(v)}"`;
        } else {
          hint = hintFrom(root, path, v);
        }
        push(path, 'value', `expected ${expected}, found ${describeValue(v)}`, hint);
        return;
      }
      case 'unrecognized_keys': {
        const objectSchema = schemaAt(root, path);
        const allowed = objectKeys(objectSchema);
        for (const unknownKey of issue.keys) {
          let hint: string;
          const near = closest(unknownKey, allowed);
          const home = allowed.find((k) => objectKeys(schemaAt(root, [...path, k])).includes(unknownKey));
          const removed = REMOVED_KEYS[`${String([...prefix, ...path].at(-1))}.${unknownKey}`];
          if (removed !== undefined) hint = removed;
          else if (near !== undefined) hint = `did you mean "${near}"?`;
          else if (home !== undefined) hint = `"${unknownKey}" belongs under "${home}": ${home}: { ${unknownKey}: ... }`;
          else hint = allowed.length ? `allowed keys ${path.length || prefix.length ? `under "${formatPath([...prefix, ...path])}"` : 'at the top level'}: ${quoteList(allowed)}` : 'remove this key';
          push([...path, unknownKey], 'key', `unknown key "${unknownKey}"`, hint);
        }
        return;
      }
      case 'invalid_value': {
        const values = issue.values.map((x) => (typeof x === 'string' ? x : String(x)));
        const expected = values.length === 1 ? JSON.stringify(issue.values[0]) : `one of ${quoteList(values)}`;
        const hint = typeof v === 'string' ? didYouMean(v, values, 'allowed values') : `allowed values: ${quoteList(values)}`;
        push(path, 'value', `expected ${expected}, found ${describeValue(v)}`, hint);
        return;
      }
      case 'invalid_union': {
        const branches = issue.errors;
        if (branches.length === 0 || branches.every(isTrivial)) {
          const help = helpOf(schemaAt(root, path));
          const kinds = [
            ...new Set(
              branches.map((errs) => {
                const e = errs[0]!;
                if (e.code === 'invalid_type') return expectedText(e.expected);
                if (e.code === 'invalid_value') return e.values.map((x) => JSON.stringify(x)).join(' or ');
                return 'a valid value';
              }),
            ),
          ];
          const expected = help.expected ?? (kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} or ${kinds.at(-1)}` : (kinds[0] ?? 'a valid value'));
          push(path, 'value', `expected ${expected}, found ${describeValue(v)}`, hintFrom(root, path, v));
          return;
        }
        const best = branches.find((errs) => !isTrivial(errs))!;
        for (const inner of best) convert(inner, path);
        return;
      }
      case 'invalid_key': {
        const keySchema = recordKeySchema(schemaAt(root, path.slice(0, -1)));
        const inner = issue.issues[0];
        const message = inner && !/^Invalid /.test(inner.message) ? inner.message : `invalid key ${JSON.stringify(key)}`;
        push(path, 'key', message, hintFrom(root, path, key, keySchema));
        return;
      }
      case 'too_small':
        push(path, 'value', `${sizeText(issue.origin, issue.minimum, issue.inclusive, 'min')}, found ${describeValue(v)}`, hintFrom(root, path, v));
        return;
      case 'too_big':
        push(path, 'value', `${sizeText(issue.origin, issue.maximum, issue.inclusive, 'max')}, found ${describeValue(v)}`, hintFrom(root, path, v));
        return;
      case 'custom': {
        const params = issue.params as { hint?: unknown } | undefined;
        const hint = typeof params?.hint === 'string' ? params.hint : hintFrom(root, path, v);
        push(path, 'value', issue.message && issue.message !== 'Invalid input' ? issue.message : `invalid value: ${describeValue(v)}`, hint);
        return;
      }
      default: {
        const message = /^Invalid /.test(issue.message) ? `invalid value ${describeValue(v)}: ${issue.message.replace(/^Invalid \w+: /, '')}` : issue.message;
        push(path, 'value', message, hintFrom(root, path, v));
      }
    }
  };

  for (const issue of issues) convert(issue, []);
  return out;
}
