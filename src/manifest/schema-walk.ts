/**
 * Walk a zod schema along a data path, to find what is allowed there (for
 * "did you mean" hints) and the field's description and help.
 */
import { z, type ZodType } from 'zod';
import type { PathSegment } from './positions.js';
import { fieldMeta, type FieldMeta } from './schema.js';

type Def = { type: string } & Record<string, unknown>;
const defOf = (s: ZodType): Def => s._zod.def as unknown as Def;

/** A schema and the schemas it wraps (optional → default → pipe input → …), outermost first. */
export function layers(schema: ZodType): ZodType[] {
  const out = [schema];
  let cur = schema;
  for (let depth = 0; depth < 32; depth++) {
    const d = defOf(cur);
    let next: unknown;
    switch (d.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        next = d.innerType;
        break;
      case 'pipe': {
        const input = d.in as ZodType;
        next = defOf(input).type === 'transform' ? d.out : input;
        break;
      }
      case 'lazy':
        next = (d.getter as () => ZodType)();
        break;
      default:
        return out;
    }
    cur = next as ZodType;
    out.push(cur);
  }
  return out;
}

/** The innermost schema, without wrappers. */
export function core(schema: ZodType): ZodType {
  return layers(schema).at(-1)!;
}

function childSchema(schema: ZodType, seg: PathSegment): ZodType | undefined {
  const c = core(schema);
  const d = defOf(c);
  switch (d.type) {
    case 'object': {
      const shape = d.shape as Record<string, ZodType>;
      if (typeof seg === 'string' && Object.prototype.hasOwnProperty.call(shape, seg)) return shape[seg];
      const catchall = d.catchall as ZodType | undefined;
      return catchall && defOf(catchall).type !== 'never' ? catchall : undefined;
    }
    case 'record':
      return d.valueType as ZodType;
    case 'array':
      return d.element as ZodType;
    case 'tuple':
      return typeof seg === 'number' ? (d.items as ZodType[])[seg] ?? (d.rest as ZodType | undefined) : undefined;
    case 'union':
      for (const option of d.options as ZodType[]) {
        const found = childSchema(option, seg);
        if (found) return found;
      }
      return undefined;
    case 'intersection':
      return childSchema(d.left as ZodType, seg) ?? childSchema(d.right as ZodType, seg);
    default:
      return undefined;
  }
}

/** The schema that validates the value at `path`, if the path leads anywhere. */
export function schemaAt(root: ZodType, path: readonly PathSegment[]): ZodType | undefined {
  let cur: ZodType | undefined = root;
  for (const seg of path) {
    if (!cur) return undefined;
    cur = childSchema(cur, seg);
  }
  return cur;
}

/** The keys an object schema allows (for unions, the first object option). */
export function objectKeys(schema: ZodType | undefined): string[] {
  if (!schema) return [];
  const c = core(schema);
  const d = defOf(c);
  if (d.type === 'object') return Object.keys(d.shape as Record<string, ZodType>);
  if (d.type === 'union') {
    for (const option of d.options as ZodType[]) {
      const keys = objectKeys(option);
      if (keys.length) return keys;
    }
  }
  if (d.type === 'intersection') return [...objectKeys(d.left as ZodType), ...objectKeys(d.right as ZodType)];
  return [];
}

/** The key schema of a record. */
export function recordKeySchema(schema: ZodType | undefined): ZodType | undefined {
  if (!schema) return undefined;
  const d = defOf(core(schema));
  return d.type === 'record' ? (d.keyType as ZodType) : undefined;
}

export interface FieldHelp extends FieldMeta {
  description?: string;
}

/** Description and help of a field, from the outermost layer that has each. */
export function helpOf(schema: ZodType | undefined): FieldHelp {
  const help: FieldHelp = {};
  if (!schema) return help;
  for (const layer of layers(schema)) {
    const meta = fieldMeta.get(layer);
    help.expected ??= meta?.expected;
    help.hint ??= meta?.hint;
    help.description ??= z.globalRegistry.get(layer)?.description;
  }
  return help;
}

/** Whether a number schema only accepts integers (z.int() or .int()). */
export function isIntSchema(schema: ZodType | undefined): boolean {
  return !!schema && (core(schema) as { isInt?: boolean }).isInt === true;
}
