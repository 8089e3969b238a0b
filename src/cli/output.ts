import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { GantryError, isGantryError, type Problem } from '../core/errors.js';
import type { EngineEvent } from '../engine/index.js';
import { LiveLine } from './live-line.js';

const useColor = (): boolean => Boolean(process.stderr.isTTY) && !process.env.NO_COLOR;
const paint = (code: string, s: string): string => (useColor() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  bold: (s: string) => paint('1', s),
  dim: (s: string) => paint('2', s),
  red: (s: string) => paint('31', s),
  green: (s: string) => paint('32', s),
  yellow: (s: string) => paint('33', s),
  cyan: (s: string) => paint('36', s),
};

/** Human output goes to stdout (results) and stderr (progress); --json prints exactly one document on stdout. */
export class Output {
  /** On a terminal: the live line under the progress (a build's tail, a wait and its time). */
  private readonly live: LiveLine | undefined;

  constructor(readonly json: boolean) {
    this.live = !json && process.stderr.isTTY ? new LiveLine(process.stderr) : undefined;
  }

  /**
   * Progress of engine events: colored with timestamps and a live line on a terminal, plain lines otherwise
   * (no escape codes, no passing build output); silent with --json.
   */
  progress = (e: EngineEvent): void => {
    if (this.json) return;
    const data = e.data as { transient?: boolean; live?: { label: string; totalMs?: number } } | undefined;
    if (data?.transient) {
      this.live?.passing(e.message);
      return;
    }
    const time = e.at.slice(11, 19);
    if (!this.live) {
      process.stderr.write(`${time} ${e.level} ${e.message}\n`);
      return;
    }
    const mark = e.level === 'error' ? c.red('✗') : e.level === 'warn' ? c.yellow('!') : c.cyan('›');
    const text = e.level === 'error' ? c.red(e.message) : e.message;
    this.live.stop();
    this.live.print(`${c.dim(time)} ${mark} ${text}`);
    if (data?.live) this.live.startWait(data.live.label, data.live.totalMs);
  };

  /** Take the live line away (before a result or an error is printed). */
  endProgress(): void {
    this.live?.stop();
  }

  result(doc: unknown, human: () => string | string[]): void {
    this.endProgress();
    if (this.json) {
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
  }

  info(message: string): void {
    if (!this.json) process.stderr.write(`${message}\n`);
  }
}

export function formatProblemLine(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''} ` : '';
  return `${where}${c.bold(p.path || '(root)')}: ${p.message}${p.hint ? c.dim(` (hint: ${p.hint})`) : ''}`;
}

/**
 * Report an error and return the exit code: 2 for bad input/usage, 1 for a
 * failed operation. Unexpected errors print one line and the path of a log
 * file holding the stack.
 */
export function reportError(err: unknown, json: boolean, errorLog: string): number {
  let ge: GantryError;
  if (isGantryError(err)) ge = err;
  else {
    const e = err as Error;
    try {
      mkdirSync(dirname(errorLog), { recursive: true });
      appendFileSync(errorLog, `${new Date().toISOString()} ${e?.stack ?? String(err)}\n`);
    } catch {
      /* nowhere to write: the one-line message still goes out */
    }
    ge = new GantryError('INTERNAL', e?.message ?? String(err), `unexpected error; the stack is in ${errorLog}`);
  }
  const problems = (ge.details as { problems?: Problem[] } | undefined)?.problems;
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: { code: ge.code, message: ge.message, hint: ge.hint, problems } }, null, 2)}\n`);
  } else {
    process.stderr.write(`${c.red('error')} ${c.dim(`[${ge.code}]`)} ${ge.message}\n`);
    for (const p of problems ?? []) process.stderr.write(`  ${formatProblemLine(p)}\n`);
    if (ge.hint) process.stderr.write(`${c.dim('hint:')} ${ge.hint}\n`);
  }
  return ge.exitCode;
}
