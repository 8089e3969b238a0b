/**
 * Indentation mistakes, reported as the one mistake they are:
 * - a key written one level too shallow or too deep, where it would be valid
 *   one level deeper (under a sibling) or shallower (under an ancestor);
 * - a key un-indented out of its block, whose following (still indented)
 *   lines YAML then cannot read: one problem on that key's line, not one per
 *   following line.
 */
import type { ZodType } from 'zod';
import type { Draft } from './issues.js';
import { formatPath, type PathSegment } from './positions.js';
import { objectKeys, recordKeySchema, schemaAt } from './schema-walk.js';
import type { SyntaxProblem } from './yaml-errors.js';

/** The keys allowed in the mapping at a path (undefined: not a mapping of fixed keys, e.g. `env` or `targets`). */
export type AllowedKeys = (path: readonly PathSegment[]) => string[] | undefined;

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function valueAt(raw: unknown, path: readonly PathSegment[]): unknown {
  let cur = raw;
  for (const seg of path) {
    if (!isMapping(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = cur[seg as string];
  }
  return cur;
}

/**
 * Allowed keys from the schema; a target's keys are `type` plus its type's
 * settings (any known type's when the type is not written yet).
 */
export function allowedKeysFrom(root: ZodType, raw: unknown, targetSchemas: (type: string) => ZodType | undefined, targetTypes: readonly string[]): AllowedKeys {
  return (path) => {
    if (path.length >= 2 && path.at(-2) === 'targets') {
      const cfg = valueAt(raw, path);
      const type = isMapping(cfg) && typeof cfg.type === 'string' ? cfg.type : undefined;
      const types = type !== undefined ? [type] : targetTypes;
      return ['type', ...new Set(types.flatMap((t) => objectKeys(targetSchemas(t))))];
    }
    const schema = schemaAt(root, path);
    if (!schema || recordKeySchema(schema)) return undefined;
    const keys = objectKeys(schema);
    return keys.length ? keys : undefined;
  };
}

const isRecord = (root: ZodType, path: readonly PathSegment[]): boolean => recordKeySchema(schemaAt(root, path)) !== undefined;
const where = (path: readonly PathSegment[]): string => (path.length ? `under "${formatPath(path)}"` : 'at the top level');

/**
 * Rewrite the hints of keys that are valid one level deeper or shallower, and
 * drop the cascade they cause (the empty mapping they were meant to fill).
 */
export function explainIndentation(drafts: Draft[], root: ZodType, raw: unknown, allowed: AllowedKeys): Draft[] {
  const adopted = new Set<string>();
  const out = drafts.map((d) => {
    const key = d.path.at(-1);
    if (typeof key !== 'string' || d.path.length === 0) return d;
    const parent = d.path.slice(0, -1);
    const unknownKey = d.message.startsWith('unknown key');
    // Under a record (targets, environments) any key is a name: only a non-mapping value there can be a misplaced setting.
    const misplacedInRecord = !unknownKey && isRecord(root, parent) && !isMapping(valueAt(raw, d.path));
    if (!unknownKey && !misplacedInRecord) return d;

    const siblings = valueAt(raw, parent);
    if (isMapping(siblings)) {
      const names = Object.keys(siblings);
      const at = names.indexOf(key);
      // The sibling written just before comes first: that is the block the key was meant to be in.
      const order = [...names.slice(0, Math.max(at, 0)).reverse(), ...names.slice(at + 1)];
      const home = order.find((s) => s !== key && (isMapping(siblings[s]) || siblings[s] === null) && allowed([...parent, s])?.includes(key));
      if (home !== undefined) {
        if (siblings[home] === null) adopted.add(formatPath([...parent, home]));
        return {
          ...d,
          at: 'key' as const,
          message: unknownKey ? d.message : `"${key}" is not a ${parent.at(-1) === 'targets' ? 'target' : 'name'} here: every key ${where(parent)} names one, with a mapping as its value`,
          hint: `did you mean to indent "${key}" under "${home}"? "${key}" is not valid ${where(parent)}; it is valid one level deeper, as ${formatPath([...parent, home, key])}`,
        };
      }
    }
    if (unknownKey) {
      for (let up = parent.length - 1; up >= 0; up--) {
        const ancestor = parent.slice(0, up);
        if (allowed(ancestor)?.includes(key) && valueAt(raw, [...ancestor, key]) === undefined) {
          const levels = parent.length - up;
          return {
            ...d,
            hint: `did you mean to un-indent "${key}"? it is not valid ${where(parent)}; it is valid ${levels === 1 ? 'one level' : `${levels} levels`} shallower, ${where(ancestor)} (as ${formatPath([...ancestor, key])})`,
          };
        }
      }
    }
    return d;
  });
  // `health:` left empty because its keys were un-indented: the empty mapping is not a second mistake.
  return out.filter((d) => !(adopted.has(formatPath(d.path)) && valueAt(raw, d.path) === null));
}

// ---------------------------------------------------------------- YAML level

interface Line {
  no: number;
  indent: number;
  text: string;
}

const KEY_WITH_VALUE = /^([A-Za-z0-9_.-]+)\s*:\s+([^#\s|>{[&*!].*)$/;
const KEY_ONLY = /^([A-Za-z0-9_.-]+)\s*:\s*(?:#.*)?$/;

function contentLines(source: string): Line[] {
  const out: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    const text = raw.trimStart();
    if (text === '' || text.startsWith('#')) return;
    out.push({ no: i + 1, indent: raw.length - text.length, text: text.trimEnd() });
  });
  return out;
}

/** The block-mapping keys that contain line `i` (by indentation), outermost first. */
function parentPath(lines: Line[], i: number): string[] {
  const path: string[] = [];
  let indent = lines[i]!.indent;
  for (let j = i - 1; j >= 0 && indent > 0; j--) {
    const l = lines[j]!;
    if (l.indent >= indent) continue;
    const m = KEY_ONLY.exec(l.text);
    if (!m) return path;
    path.unshift(m[1]!);
    indent = l.indent;
  }
  return path;
}

/**
 * YAML errors caused by a `key: value` line followed by lines indented more
 * than it (typically the key was un-indented out of its block): one problem on
 * the key's line replaces the errors of the lines under it.
 */
export function unindentedKeyProblems(source: string, errors: SyntaxProblem[], allowed: AllowedKeys): SyntaxProblem[] {
  if (errors.length === 0) return errors;
  const lines = contentLines(source);
  const firstLine = Math.min(...errors.map((e) => e.line));
  // The culprit is the nearest `key: value` line at or before the first error whose next line is indented more.
  let k = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i]!.no > firstLine) continue;
    const next = lines[i + 1];
    if (KEY_WITH_VALUE.test(lines[i]!.text) && next && next.indent > lines[i]!.indent) k = i;
    break;
  }
  if (k < 0 && firstLine > 1) {
    const i = lines.findIndex((l) => l.no === firstLine) - 1;
    const next = lines[i + 1];
    if (i >= 0 && KEY_WITH_VALUE.test(lines[i]!.text) && next && next.indent > lines[i]!.indent) k = i;
  }
  if (k < 0) return errors;

  const culprit = lines[k]!;
  const key = KEY_WITH_VALUE.exec(culprit.text)![1]!;
  let end = k + 1;
  while (end < lines.length && lines[end]!.indent > culprit.indent) end++;
  const lastLine = lines[end - 1]!.no;
  const inBlock = (e: SyntaxProblem) => e.line >= culprit.no && e.line <= lastLine;

  const parents = parentPath(lines, k);
  const before = lines[k - 1];
  const opener = before && before.indent === culprit.indent ? KEY_ONLY.exec(before.text)?.[1] : undefined;
  const deeper = opener !== undefined && allowed([...parents, opener])?.includes(key);
  const span = lastLine > culprit.no + 1 ? `lines ${culprit.no + 1}-${lastLine}` : `line ${lastLine}`;
  const problem: SyntaxProblem = {
    line: culprit.no,
    column: culprit.indent + 1,
    path: formatPath([...parents, key]),
    message: `"${key}" is indented less than the ${span} under it, so YAML cannot read them`,
    hint: deeper
      ? `did you mean to indent "${key}" under "${opener}"? it is valid there (${formatPath([...parents, opener!, key])}); indent it like the lines after it`
      : `indent "${key}" like the lines after it, or un-indent those lines: a key with a value on its own line cannot have indented lines under it`,
  };
  return [problem, ...errors.filter((e) => !inBlock(e))];
}
