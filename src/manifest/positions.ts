/**
 * A located tree: the YAML document as plain values, with the line and column
 * of every key and value, so that any problem can point at its node.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { DEFAULTS } from '../core/defaults.js';

export interface Pos {
  line: number;
  column: number;
}

export interface LEntry {
  /** Where the key is written. */
  keyPos: Pos;
  value: LNode;
}

export type LNode =
  | { kind: 'map'; pos: Pos; entries: Map<string, LEntry> }
  | { kind: 'seq'; pos: Pos; items: LNode[] }
  /** `plain`: written without quotes (so its type may be re-resolved after interpolation). */
  | { kind: 'scalar'; pos: Pos; value: unknown; plain: boolean };

export type PathSegment = string | number;

export interface TreeProblem {
  pos: Pos;
  path: PathSegment[];
  message: string;
  hint: string;
}

/** Upper bound on nodes produced, so alias expansion ("billion laughs") cannot blow up. */
const MAX_NODES = DEFAULTS.manifestMaxNodes;

export const START: Pos = { line: 1, column: 1 };

/** Convert a parsed YAML document into a located tree. An empty document becomes an empty mapping. */
export function fromYaml(doc: Document, lineCounter: LineCounter): { root: LNode; problems: TreeProblem[] } {
  const problems: TreeProblem[] = [];
  let count = 0;
  const posOf = (node: { range?: [number, number, number] | null } | null | undefined, fallback: Pos): Pos => {
    const offset = node?.range?.[0];
    if (offset === undefined) return fallback;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  const convert = (node: unknown, path: PathSegment[], fallback: Pos, resolving: Set<unknown>): LNode => {
    if (++count > MAX_NODES) {
      throw new TooLarge(posOf(node as Node, fallback), path);
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      const pos = posOf(node, fallback);
      if (!target) {
        problems.push({ pos, path, message: `unknown alias "*${node.source}"`, hint: `define the anchor "&${node.source}" before using it` });
        return { kind: 'scalar', pos, value: null, plain: true };
      }
      if (resolving.has(target)) {
        problems.push({ pos, path, message: `alias "*${node.source}" refers to itself`, hint: 'an alias cannot be used inside the node it names' });
        return { kind: 'scalar', pos, value: null, plain: true };
      }
      resolving.add(target);
      const out = convert(target, path, pos, resolving);
      resolving.delete(target);
      return out;
    }
    if (isMap(node)) {
      const pos = posOf(node, fallback);
      const entries = new Map<string, LEntry>();
      for (const pair of node.items) {
        const keyNode = pair.key as unknown;
        const keyPos = posOf(keyNode as Node, pos);
        let key: string;
        if (isScalar(keyNode)) key = String(keyNode.value);
        else if (keyNode === null || keyNode === undefined) key = '';
        else {
          problems.push({ pos: keyPos, path, message: 'a key must be a plain word, not a list or mapping', hint: 'write keys as plain text, e.g. "instances:"' });
          continue;
        }
        if (key === '__proto__') {
          problems.push({ pos: keyPos, path: [...path, key], message: 'the key "__proto__" is not allowed', hint: 'remove this key' });
          continue;
        }
        if (entries.has(key)) {
          // The parser's own duplicate check is off (quadratic); same wording as its error.
          problems.push({ pos: keyPos, path: [...path, key], message: `YAML syntax error: map keys must be unique ("${key}" appears twice)`, hint: 'each key may appear only once in a mapping; merge the two entries' });
          continue;
        }
        const valuePath = [...path, key];
        const value =
          pair.value === null || pair.value === undefined
            ? ({ kind: 'scalar', pos: keyPos, value: null, plain: true } as LNode)
            : convert(pair.value, valuePath, keyPos, resolving);
        entries.set(key, { keyPos, value });
      }
      return { kind: 'map', pos, entries };
    }
    if (isSeq(node)) {
      const pos = posOf(node, fallback);
      const items = node.items.map((item, i) =>
        item === null || item === undefined ? ({ kind: 'scalar', pos, value: null, plain: true } as LNode) : convert(item, [...path, i], pos, resolving),
      );
      return { kind: 'seq', pos, items };
    }
    if (isScalar(node)) {
      return { kind: 'scalar', pos: posOf(node, fallback), value: node.value, plain: node.type === 'PLAIN' || node.type === undefined };
    }
    return { kind: 'scalar', pos: fallback, value: null, plain: true };
  };

  try {
    if (doc.contents === null || doc.contents === undefined) return { root: { kind: 'map', pos: START, entries: new Map() }, problems };
    return { root: convert(doc.contents, [], START, new Set()), problems };
  } catch (e) {
    if (e instanceof TooLarge) {
      problems.push({ pos: e.pos, path: e.path, message: `the manifest expands to more than ${MAX_NODES} values`, hint: 'remove repeated aliases (*name); a manifest is normally a few dozen lines' });
      return { root: { kind: 'map', pos: START, entries: new Map() }, problems };
    }
    throw e;
  }
}

class TooLarge extends Error {
  constructor(
    readonly pos: Pos,
    readonly path: PathSegment[],
  ) {
    super('manifest too large');
  }
}

/** The plain JavaScript value of a tree (no prototypes are ever set from keys). */
export function toPlain(node: LNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const [k, e] of node.entries) {
        Object.defineProperty(out, k, { value: toPlain(e.value), enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
  }
}

/** Find a child by one path segment. */
export function child(node: LNode, seg: PathSegment): LEntry | undefined {
  if (node.kind === 'map') return node.entries.get(String(seg));
  if (node.kind === 'seq' && typeof seg === 'number') {
    const item = node.items[seg];
    return item ? { keyPos: item.pos, value: item } : undefined;
  }
  return undefined;
}

/**
 * Where a path is written. `at: 'key'` points at the key itself (for an
 * unknown key), `'value'` at its value. A path that does not exist (a
 * missing key) points at the key of the nearest mapping that does, or at that
 * mapping when it has no key (the document root).
 */
export function locate(root: LNode, path: readonly PathSegment[], at: 'key' | 'value' = 'value'): Pos {
  let node = root;
  let ownerKey: Pos | undefined;
  for (const seg of path) {
    const next = child(node, seg);
    if (!next) return ownerKey ?? node.pos;
    node = next.value;
    ownerKey = next.keyPos;
  }
  return at === 'key' && ownerKey ? ownerKey : node.pos;
}

/** `run.instances`, `targets.box.ports[0]`, `env["MY-VAR"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}
