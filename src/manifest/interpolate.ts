/**
 * `${VAR}` interpolation of string values. Text substitution only: nothing is
 * ever executed, and substituted text is never scanned again.
 *
 *   ${VAR}           value of VAR; a problem if VAR is not set
 *   ${VAR:-default}  value of VAR, or `default` when VAR is unset or empty
 *   $${              a literal `${`
 *   $VAR             left alone (no braces)
 *
 * Runtime names (PORT, GANTRY_*) are left untouched: the shell that runs the
 * app expands them when it starts.
 */
import type { LNode, PathSegment, TreeProblem } from './positions.js';

export const RESERVED_VARS: ReadonlySet<string> = new Set(['PORT', 'GANTRY_RELEASE', 'GANTRY_APP', 'GANTRY_INSTANCE', 'GANTRY_TARGET']);

export type Vars = Readonly<Record<string, string | undefined>>;

export interface StringInterpolation {
  value: string;
  /** Variables referenced without a default that are not set. */
  missing: string[];
  /** Malformed references, e.g. an unclosed `${`. */
  invalid: string[];
}

const REF_RE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export function interpolateString(input: string, vars: Vars): StringInterpolation {
  const missing: string[] = [];
  const invalid: string[] = [];
  let out = '';
  let i = 0;
  while (i < input.length) {
    if (input.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!input.startsWith('${', i)) {
      out += input[i];
      i += 1;
      continue;
    }
    const close = input.indexOf('}', i + 2);
    if (close < 0) {
      invalid.push(input.slice(i));
      out += input.slice(i);
      break;
    }
    const ref = input.slice(i, close + 1);
    const m = REF_RE.exec(input.slice(i + 2, close));
    i = close + 1;
    if (!m) {
      invalid.push(ref);
      out += ref;
      continue;
    }
    const name = m[1]!;
    const fallback = m[2];
    if (RESERVED_VARS.has(name)) {
      out += ref;
      continue;
    }
    const value = Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : undefined;
    if (fallback !== undefined) {
      out += value === undefined || value === '' ? fallback : value;
    } else if (value === undefined) {
      missing.push(name);
      out += ref;
    } else {
      out += value;
    }
  }
  return { value: out, missing, invalid };
}

/** YAML 1.2 core schema resolution for an unquoted value produced by interpolation. */
function resolvePlain(text: string): unknown {
  if (/^[-+]?[0-9]+$/.test(text)) return Number(text);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
  if (/^(?:true|True|TRUE)$/.test(text)) return true;
  if (/^(?:false|False|FALSE)$/.test(text)) return false;
  if (/^(?:null|Null|NULL|~)$/.test(text)) return null;
  return text;
}

/**
 * Interpolate every string value (never keys) of a tree. An unquoted value
 * whose text changed is resolved again as YAML would, so `instances: ${N}`
 * with N=3 gives the number 3; a quoted value stays a string.
 */
export function interpolateTree(root: LNode, vars: Vars): { root: LNode; problems: TreeProblem[] } {
  const problems: TreeProblem[] = [];
  const walk = (node: LNode, path: PathSegment[]): LNode => {
    switch (node.kind) {
      case 'map': {
        const entries = new Map([...node.entries].map(([k, e]) => [k, { keyPos: e.keyPos, value: walk(e.value, [...path, k]) }] as const));
        return { ...node, entries };
      }
      case 'seq':
        return { ...node, items: node.items.map((item, i) => walk(item, [...path, i])) };
      case 'scalar': {
        if (typeof node.value !== 'string' || !node.value.includes('${')) return node;
        const r = interpolateString(node.value, vars);
        for (const name of r.missing) {
          problems.push({
            pos: node.pos,
            path,
            message: `environment variable "${name}" is not set`,
            hint: `export ${name}=... before running gantry, or give a default: \${${name}:-default}`,
          });
        }
        for (const ref of r.invalid) {
          problems.push({
            pos: node.pos,
            path,
            message: `cannot interpolate "${ref}": only \${NAME} and \${NAME:-default} are supported`,
            hint: 'write $${ for a literal "${" (e.g. a shell expression the app should see as is)',
          });
        }
        if (r.value === node.value) return node;
        return { ...node, value: node.plain ? resolvePlain(r.value) : r.value };
      }
    }
  };
  return { root: walk(root, []), problems };
}
