/**
 * Issue 14 point 9: captured output is bounded by bytes as well as lines, and a line
 * longer than the cap is cut with a marker naming how much was left out.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { capLine, capOutput, TailBuffer } from '../../src/core/bounded.js';
import { DEFAULTS } from '../../src/core/defaults.js';
import { followLog, tailLines } from '../../src/supervisor/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-bounded-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const bytes = (s: string | string[]): number => Buffer.byteLength(Array.isArray(s) ? s.join('\n') : s);
const MAX_LINE = DEFAULTS.output.maxLineBytes;

describe('caps', () => {
  it('capLine cuts at a character boundary and names what it left out; cutting again keeps the count', () => {
    expect(capLine('short')).toBe('short');
    const long = 'é'.repeat(5000); // 10,000 bytes
    const cut = capLine(long, 101);
    expect(cut).toBe(`${'é'.repeat(50)}… [truncated 9900 bytes]`);
    expect(capLine(cut, 101)).toBe(cut);
  });

  it('capOutput keeps the tail within the byte cap, each line within the line cap', () => {
    const text = ['first', 'x'.repeat(1_000_000), ...Array.from({ length: 100 }, (_, i) => `line ${i}`)].join('\n');
    const out = capOutput(text, { maxBytes: 2048, maxLines: 50 });
    expect(bytes(out)).toBeLessThanOrEqual(2048 + 100);
    expect(out.endsWith('line 99')).toBe(true);
    expect(out.split('\n')[0]).toMatch(/^… \[52 earlier lines, \d+ bytes, truncated\]$/);
  });

  it('TailBuffer keeps only the end of 20 MB of output, in bounded memory', () => {
    const b = new TailBuffer(64 * 1024);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    for (let i = 0; i < 320; i++) b.push(chunk);
    b.push('\nthe end\n');
    const text = b.text();
    expect(bytes(text)).toBeLessThan(64 * 1024 + 200);
    expect(text).toMatch(/^… \[\d+ earlier bytes truncated\]\n/);
    expect(text).toMatch(/… \[truncated \d+ bytes\]\nthe end$/);
  });
});

describe('log tails', () => {
  it('tailLines of a file holding one 20 MB line returns a capped line with a marker', async () => {
    const file = join(dir, 'one.log');
    writeFileSync(file, 'x'.repeat(20_000_000));
    const lines = await tailLines(file, 20);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(`${'x'.repeat(MAX_LINE)}… [truncated ${20_000_000 - MAX_LINE} bytes]`);
    appendFileSync(file, '\nsecond\n\nfourth\n');
    expect(await tailLines(file, 3)).toEqual(['second', '', 'fourth']);
    expect((await tailLines(file, 10))[0]).toMatch(/… \[truncated 19995904 bytes\]$/);
  });

  it('tailLines still reads across rotation and keeps short lines whole', async () => {
    const file = join(dir, 'app.log');
    writeFileSync(`${file}.1`, 'a\nb\n');
    writeFileSync(file, 'c\n');
    expect(await tailLines(file, 3)).toEqual(['a', 'b', 'c']);
    expect(await tailLines(join(dir, 'missing.log'), 3)).toEqual([]);
  });

  it('followLog emits a huge line cut to the cap, with the count of what was left out', async () => {
    const file = join(dir, 'follow.log');
    writeFileSync(file, '');
    const got: string[] = [];
    const ac = new AbortController();
    followLog(file, (l) => got.push(l), ac.signal, { intervalMs: 20, fromStart: true });
    appendFileSync(file, 'y'.repeat(3_000_000) + '\nafter\n');
    for (let i = 0; i < 250 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect(got).toEqual([`${'y'.repeat(MAX_LINE)}… [truncated ${3_000_000 - MAX_LINE} bytes]`, 'after']);
  });
});
