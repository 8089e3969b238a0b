import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { readSecretValue } from '../../src/secrets/index.js';
import { GantryError } from '../../src/core/errors.js';

function piped(...chunks: string[]): NodeJS.ReadStream {
  const s = new PassThrough();
  for (const c of chunks) s.write(c);
  s.end();
  return s as unknown as NodeJS.ReadStream;
}

/** A stand-in terminal: records raw mode, emits keystrokes. */
function fakeTty(): { stdin: NodeJS.ReadStream; raw: boolean[]; type: (s: string) => void } {
  const s = new PassThrough();
  const raw: boolean[] = [];
  const stdin = Object.assign(s, {
    isRaw: false,
    setRawMode(on: boolean) {
      raw.push(on);
      (stdin as { isRaw: boolean }).isRaw = on;
      return stdin;
    },
  });
  return { stdin: stdin as unknown as NodeJS.ReadStream, raw, type: (x) => s.write(Buffer.from(x, 'utf8')) };
}

describe('readSecretValue', () => {
  const noPrompt = (): void => {
    throw new Error('no prompt when piped');
  };

  it('piped: strips exactly one trailing newline and keeps inner ones', async () => {
    expect(await readSecretValue({ stdin: piped('abc\n'), isTTY: false, prompt: noPrompt })).toBe('abc');
    expect(await readSecretValue({ stdin: piped('line1\nline2\n\n'), isTTY: false, prompt: noPrompt })).toBe('line1\nline2\n');
    expect(await readSecretValue({ stdin: piped('no-newline'), isTTY: false, prompt: noPrompt })).toBe('no-newline');
    expect(await readSecretValue({ stdin: piped('crlf\r\n'), isTTY: false, prompt: noPrompt })).toBe('crlf');
    expect(await readSecretValue({ stdin: piped('a', 'b\nc', '\n'), isTTY: false, prompt: noPrompt })).toBe('ab\nc');
    expect(await readSecretValue({ stdin: piped('✓ multi-byte\n'), isTTY: false, prompt: noPrompt })).toBe('✓ multi-byte');
    expect(await readSecretValue({ stdin: piped(''), isTTY: false, prompt: noPrompt })).toBe('');
  });

  it('piped: refuses a value larger than the limit', async () => {
    await expect(readSecretValue({ stdin: piped('x'.repeat(100)), isTTY: false, prompt: noPrompt, maxBytes: 10 })).rejects.toBeInstanceOf(GantryError);
  });

  it('terminal: prompts, reads without echo in raw mode, handles backspace and restores the mode', async () => {
    const t = fakeTty();
    const said: string[] = [];
    const p = readSecretValue({ stdin: t.stdin, isTTY: true, prompt: (q) => said.push(q) });
    t.type('se');
    t.type('cx\x7fret\x1b[D'); // backspace removes x; an arrow key is ignored
    t.type('!\r');
    expect(await p).toBe('secret!');
    expect(t.raw).toEqual([true, false]);
    expect(said[0]).toMatch(/hidden/);
    expect(said.join('')).not.toContain('secret');
  });

  it('terminal: Ctrl-C aborts with INTERRUPTED and restores the mode', async () => {
    const t = fakeTty();
    const p = readSecretValue({ stdin: t.stdin, isTTY: true, prompt: () => {} });
    t.type('abc\x03');
    await expect(p).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(t.raw).toEqual([true, false]);
  });
});
