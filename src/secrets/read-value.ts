/**
 * Read a secret value from stdin only (never argv, where it would land in
 * shell history and `ps`). Piped: everything, minus ONE trailing newline
 * ("\n" or "\r\n"). On a terminal: a prompt and no echo (raw mode), with
 * backspace, Ctrl-U (clear), Ctrl-C (abort) and Enter/Ctrl-D (done).
 */
import { StringDecoder } from 'node:string_decoder';
import { GantryError } from '../core/errors.js';
import { MAX_SECRET_BYTES } from './command.js';

export interface ReadSecretValueOptions {
  stdin: NodeJS.ReadStream;
  isTTY: boolean;
  /** Writes to the user (stderr): the question, then a newline when the value is entered. */
  prompt: (q: string) => void;
  question?: string;
  maxBytes?: number;
}

export function readSecretValue(opts: ReadSecretValueOptions): Promise<string> {
  const max = opts.maxBytes ?? MAX_SECRET_BYTES;
  return opts.isTTY ? readHidden(opts, max) : readPiped(opts.stdin, max);
}

function tooLarge(max: number): GantryError {
  return new GantryError('USAGE', `the secret value is larger than ${max} bytes`, 'store a path or a reference instead of the content');
}

function readPiped(stdin: NodeJS.ReadStream, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      size += buf.length;
      if (size > max + 2) {
        cleanup();
        stdin.pause();
        reject(tooLarge(max));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      cleanup();
      let text = Buffer.concat(chunks).toString('utf8');
      if (text.endsWith('\r\n')) text = text.slice(0, -2);
      else if (text.endsWith('\n')) text = text.slice(0, -1);
      if (Buffer.byteLength(text, 'utf8') > max) reject(tooLarge(max));
      else resolve(text);
    };
    const onError = (e: Error): void => {
      cleanup();
      reject(new GantryError('USAGE', `cannot read the secret value from stdin: ${e.message}`));
    };
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
}

function readHidden(opts: ReadSecretValueOptions, max: number): Promise<string> {
  const { stdin, prompt } = opts;
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    const chars: string[] = [];
    let size = 0;
    // 0: text, 1: after ESC, 2: inside a CSI/SS3 sequence (arrow keys, bracketed paste markers).
    let esc = 0;
    const wasRaw = stdin.isRaw;
    let done = false;

    const finish = (err: Error | undefined, value?: string): void => {
      if (done) return;
      done = true;
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      try {
        stdin.setRawMode?.(wasRaw ?? false);
      } catch {
        // the terminal went away
      }
      stdin.pause();
      prompt('\n');
      if (err) reject(err);
      else resolve(value ?? '');
    };

    const onData = (chunk: Buffer | string): void => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (done) return;
        if (esc === 1) {
          esc = ch === '[' || ch === 'O' ? 2 : 0;
          continue;
        }
        if (esc === 2) {
          if (ch >= '@' && ch <= '~') esc = 0;
          continue;
        }
        switch (ch) {
          case '\r':
          case '\n':
          case '\x04': // Ctrl-D
            finish(undefined, chars.join(''));
            return;
          case '\x03': // Ctrl-C
            finish(new GantryError('INTERRUPTED', 'interrupted while reading the secret value', 'nothing was stored'));
            return;
          case '\x7f':
          case '\b': {
            const last = chars.pop();
            if (last !== undefined) size -= Buffer.byteLength(last, 'utf8');
            break;
          }
          case '\x15': // Ctrl-U
            chars.length = 0;
            size = 0;
            break;
          case '\x1b':
            esc = 1;
            break;
          default:
            if (ch < ' ' && ch !== '\t') break; // other control keys
            size += Buffer.byteLength(ch, 'utf8');
            if (size > max) {
              finish(tooLarge(max));
              return;
            }
            chars.push(ch);
        }
      }
    };
    const onEnd = (): void => finish(undefined, chars.join(''));
    const onError = (e: Error): void => finish(new GantryError('USAGE', `cannot read the secret value from the terminal: ${e.message}`));

    prompt(opts.question ?? 'Secret value (input is hidden): ');
    stdin.setRawMode?.(true);
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    stdin.resume();
  });
}
