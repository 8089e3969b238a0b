import { relative } from 'node:path';
import type { Problem } from '../core/errors.js';

/** `gantry.yaml:7:3 run.instnces: unknown key "instnces" (hint: did you mean "instances"?)` */
export function formatProblem(p: Problem): string {
  let where = '';
  if (p.file) {
    const rel = relative(process.cwd(), p.file);
    where = rel && !rel.startsWith('..') ? rel : p.file;
    if (p.line !== undefined) where += `:${p.line}${p.column !== undefined ? `:${p.column}` : ''}`;
  }
  const head = [where, p.path].filter(Boolean).join(' ');
  return `${head ? `${head}: ` : ''}${p.message}${p.hint ? ` (hint: ${p.hint})` : ''}`;
}
