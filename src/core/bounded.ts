import { DEFAULTS } from './defaults.js';

/**
 * Bounds for captured output (builds, hooks, health commands, tasks, log tails):
 * a program can print anything, so whatever Gantry keeps, prints or stores of it
 * is capped by bytes as well as by lines.
 */

/** The first `max` bytes of `buf`, cut back to a UTF-8 character boundary. */
function headBytes(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let end = max;
  while (end > 0 && (buf[end]! & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

/** The last `max` bytes of `buf`, moved forward to a UTF-8 character boundary. */
function tailBytes(buf: Buffer, max: number): Buffer {
  if (buf.length <= max) return buf;
  let start = buf.length - max;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start);
}

/** The longest head of `text` that fits in `maxBytes` (whole characters only). */
export function truncateToBytes(text: string, maxBytes: number): string {
  return headBytes(Buffer.from(text, 'utf8'), maxBytes).toString('utf8');
}

const MARKER_RE = /\u2026 \[truncated \d+ bytes\]$/;

export const truncatedMarker = (bytes: number): string => `… [truncated ${bytes} bytes]`;

/** One line, at most `maxBytes` of it (plus the marker naming how much was cut). */
export function capLine(line: string, maxBytes: number = DEFAULTS.output.maxLineBytes): string {
  // Cheap test first: a string never takes more than 3 UTF-8 bytes per UTF-16 unit.
  if (line.length * 3 <= maxBytes) return line;
  const buf = Buffer.from(line, 'utf8');
  if (buf.length <= maxBytes) return line;
  // Already cut (e.g. by tailLines): cutting again would lose the count of what was left out.
  const cut = MARKER_RE.exec(line);
  if (cut && Buffer.byteLength(line.slice(0, cut.index)) <= maxBytes) return line;
  const head = headBytes(buf, maxBytes);
  return head.toString('utf8') + truncatedMarker(buf.length - head.length);
}

/**
 * A line read as its first bytes: `head` holds at least `maxBytes + 1` bytes of it
 * when the line (`totalBytes` long) is longer than the cap.
 */
export function cutLine(head: Buffer, totalBytes: number, maxBytes: number = DEFAULTS.output.maxLineBytes): string {
  if (totalBytes <= maxBytes) return head.toString('utf8');
  const kept = headBytes(head, maxBytes);
  return kept.toString('utf8') + truncatedMarker(totalBytes - kept.length);
}

/**
 * The end of some output, as lines: the last `maxLines` lines, each cut to
 * `maxLineBytes`, and no more than `maxBytes` in all (earlier lines are dropped
 * first; a marker line says how much was left out).
 */
export function capTailLines(lines: string[], opts: { maxLines?: number; maxBytes?: number; maxLineBytes?: number } = {}): string[] {
  const maxLines = opts.maxLines ?? Infinity;
  const maxBytes = opts.maxBytes ?? DEFAULTS.output.maxBytes;
  const maxLineBytes = Math.min(opts.maxLineBytes ?? DEFAULTS.output.maxLineBytes, maxBytes);
  const out: string[] = [];
  let bytes = 0;
  let i = lines.length - 1;
  for (; i >= 0 && out.length < maxLines; i--) {
    const line = capLine(lines[i]!, maxLineBytes);
    const size = Buffer.byteLength(line) + 1;
    if (bytes + size > maxBytes) break;
    bytes += size;
    out.push(line);
  }
  out.reverse();
  if (i >= 0) {
    let dropped = 0;
    for (let j = 0; j <= i; j++) dropped += Buffer.byteLength(lines[j]!) + 1;
    out.unshift(`… [${i + 1} earlier line${i === 0 ? '' : 's'}, ${dropped} bytes, truncated]`);
  }
  return out;
}

/** capTailLines for text (split on newlines, joined back). */
export function capOutput(text: string, opts: { maxLines?: number; maxBytes?: number; maxLineBytes?: number } = {}): string {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return capTailLines(lines, opts).join('\n');
}

/**
 * Collects a stream's output keeping only its last `maxBytes` (memory stays
 * bounded whatever the program prints); `text()` says how much was dropped.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly maxBytes: number = DEFAULTS.output.maxBytes) {}

  push(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.chunks.push(buf);
    this.size += buf.length;
    if (this.size > this.maxBytes * 2) this.compact();
  }

  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const kept = tailBytes(all, this.maxBytes);
    this.dropped += all.length - kept.length;
    this.chunks = [Buffer.from(kept)];
    this.size = kept.length;
  }

  /** The kept tail, lines cut to the line cap, led by a marker when earlier output was dropped. */
  text(): string {
    this.compact();
    const body = this.chunks[0]?.toString('utf8') ?? '';
    const lines = capOutput(body, { maxBytes: this.maxBytes });
    return this.dropped > 0 ? `… [${this.dropped} earlier bytes truncated]\n${lines}` : lines;
  }
}

/**
 * A safety net where text is stored or printed: at most `maxBytes` of it,
 * keeping the head (an error message names what failed first).
 */
export function capText(text: string, maxBytes: number = DEFAULTS.output.storedTextMaxBytes): string {
  return capLine(text, maxBytes);
}
