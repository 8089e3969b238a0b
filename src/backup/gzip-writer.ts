import type { FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { deflateRaw, gzip, type ZlibOptions } from 'node:zlib';
import { tagMember } from './gzip-members.js';

/**
 * Writes a gzip file as a series of independent gzip members, compressed in
 * parallel on libuv's thread pool (like pigz). A multi-member gzip file is plain
 * RFC 1952: gzip, GNU/BSD tar, Python and Node read it as one stream. Each member
 * names its length in its header, so Gantry's reader inflates them in parallel too.
 *
 * Input is cut into `blockSize` blocks; up to `parallel` blocks compress at once
 * and are written in order, so memory stays at about blockSize × parallel × 2.
 * A block that does not compress (see `incompressible`) is stored, not deflated.
 * Chunks passed to write() are kept until their block is cut: don't reuse them.
 */
export interface GzipWriterOptions {
  level: number;
  blockSize?: number;
  parallel?: number;
}

/** Keep one libuv thread (of 4 by default) free for file reads and writes. */
export const defaultParallel = (): number => Math.max(1, Math.min(availableParallelism(), 3));

function gzipBlock(block: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => gzip(block, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

function deflateSample(sample: Buffer): Promise<number> {
  return new Promise((resolve, reject) => deflateRaw(sample, { level: 1 }, (err, out) => (err ? reject(err) : resolve(out.length))));
}

const SAMPLE = 8 * 1024;

/**
 * True when three 8 KB samples (start, middle, end) of the block all fail to shrink by 3%
 * at level 1: already-compressed data (images, archives, encrypted secrets). Such a block
 * is stored (level 0) instead: deflate spends most of its time on exactly this kind of data
 * and gains nothing. Compressible data answers after the first sample (~1% extra work).
 */
async function incompressible(block: Buffer): Promise<boolean> {
  if (block.length < 8 * SAMPLE) return false;
  for (const at of [0, (block.length - SAMPLE) >> 1, block.length - SAMPLE]) {
    if ((await deflateSample(block.subarray(at, at + SAMPLE))) < SAMPLE * 0.97) return false;
  }
  return true;
}

/** One member, its length in its header (gzip-members.ts) so a reader can inflate members in parallel. */
async function compressBlock(block: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return tagMember(await gzipBlock(block, (await incompressible(block)) ? { ...opts, level: 0 } : opts));
}

export class ParallelGzipWriter {
  private parts: Buffer[] = [];
  private partsLen = 0;
  private readonly inflight: Promise<Buffer>[] = [];
  private readonly blockSize: number;
  private readonly parallel: number;
  private readonly zopts: ZlibOptions;
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly fh: FileHandle,
    opts: GzipWriterOptions,
  ) {
    this.blockSize = opts.blockSize ?? 1024 * 1024;
    this.parallel = opts.parallel ?? defaultParallel();
    // One output buffer large enough for a whole block: one thread-pool round trip per block.
    this.zopts = { level: opts.level, chunkSize: this.blockSize + 64 * 1024 };
  }

  async write(chunk: Buffer): Promise<void> {
    this.bytesIn += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(this.blockSize - this.partsLen, chunk.length - off);
      this.parts.push(off === 0 && take === chunk.length ? chunk : chunk.subarray(off, off + take));
      this.partsLen += take;
      off += take;
      if (this.partsLen === this.blockSize) await this.cut();
    }
  }

  /** Compresses what is left, writes every member, and leaves the file handle open. */
  async end(): Promise<void> {
    if (this.partsLen > 0 || this.bytesIn === 0) await this.cut();
    while (this.inflight.length > 0) await this.flushOne();
  }

  private async cut(): Promise<void> {
    const block = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLen);
    this.parts = [];
    this.partsLen = 0;
    const p = compressBlock(block, this.zopts);
    p.catch(() => undefined); // awaited in order by flushOne; avoid an unhandled rejection meanwhile
    this.inflight.push(p);
    while (this.inflight.length >= this.parallel) await this.flushOne();
  }

  private async flushOne(): Promise<void> {
    const out = await this.inflight.shift()!;
    await writeAll(this.fh, out);
    this.bytesOut += out.length;
  }
}

export async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off);
    off += bytesWritten;
  }
}
