/** YAML syntax errors as problems, with the line, column and (as far as it can be told) the path. */
import { isMap, type Document, type YAMLError } from 'yaml';
import { formatPath, type PathSegment } from './positions.js';

const HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'each key may appear only once in a mapping; merge the two entries',
  TAB_AS_INDENT: 'indent with spaces, not tabs',
  MULTIPLE_DOCS: 'keep a single YAML document (remove the extra "---")',
  BLOCK_AS_IMPLICIT_KEY: 'quote values that contain ": ", e.g. command: "echo a: b"',
  MISSING_CHAR: 'close the quote or bracket that was opened',
  BAD_INDENT: 'indent nested keys consistently with spaces, and close brackets',
  MULTILINE_IMPLICIT_KEY: 'put each key on one line and indent its value under it',
  UNEXPECTED_TOKEN: 'quote values that start with characters YAML treats specially (@ ` % & * ! | > { [)',
  BAD_ALIAS: 'quote values that start with "*"; aliases must name an anchor (&name) defined earlier',
};

/** Library wording replaced by plain words. */
const MESSAGES: Record<string, string> = {
  MULTIPLE_DOCS: 'the file contains more than one YAML document',
};

/** The path of the deepest mapping entry whose range contains `offset` (list items are not entered). */
function pathAtOffset(doc: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 64; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const start = (p.key as { range?: [number, number, number] } | null)?.range?.[0];
        const end = (p.value as { range?: [number, number, number] } | null)?.range?.[2] ?? (p.key as { range?: [number, number, number] } | null)?.range?.[2];
        return start !== undefined && end !== undefined && start <= offset && offset <= end;
      });
      if (!pair) break;
      path.push(String((pair.key as { value?: unknown } | null)?.value ?? ''));
      node = pair.value;
    } else break;
  }
  return path;
}

export interface SyntaxProblem {
  line: number;
  column: number;
  path: string;
  message: string;
  hint: string;
}

export function yamlErrorsToProblems(doc: Document, errors: readonly YAMLError[]): SyntaxProblem[] {
  return errors.map((e) => {
    const pos = e.linePos?.[0];
    const message = MESSAGES[e.code] ?? e.message.split(/ at line \d+, column \d+/)[0]!.trim();
    return {
      line: pos?.line ?? 1,
      column: pos?.col ?? 1,
      path: formatPath(pathAtOffset(doc, e.pos[0])),
      message: `YAML syntax error: ${message.charAt(0).toLowerCase()}${message.slice(1)}`,
      hint: HINTS[e.code] ?? 'check the indentation (spaces only), the ":" after each key and closing quotes and brackets near this line',
    };
  });
}
