import { createReadStream, type ReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createGunzip, gunzip, type Gunzip } from 'node:zlib';
import { TAGGED_HEADER_BYTES, taggedLength } from './gzip-members.js';

/**
 * The uncompressed bytes of a gzip file, in order. Members that name their length
 * (gzip-members.ts: every backup Gantry writes now) are cut out of the file without
 * inflating anything and inflated several at once on libuv's thread pool, each one
 * checked by zlib (CRC-32 and length). From the first member that does not (a backup
 * written before, or any other gzip file) to the end, the rest is inflated in one stream
 * as before. A tagged member that runs past the end of the file is a truncated file:
 * an error with code Z_BUF_ERROR, as zlib reports one.
 */
export async function* gunzipFile(file: string, opts: { parallel?: number } = {}): AsyncGenerator<Buffer> {
  const parallel = opts.parallel ?? defaultInflateParallel();
  const fh = await open(file, 'r');
  const size = (await fh.stat()).size;
  const queue: Array<Promise<Buffer>> = [];
  const head = Buffer.alloc(TAGGED_HEADER_BYTES);
  let offset = 0; // where the next member starts
  let rest = false; // an untagged member found: stream from `offset`
  let cut = false; // a tagged member runs past the end: reported after what comes before it
  let gz: Gunzip | undefined;
  let rs: ReadStream | undefined;
  try {
    for (;;) {
      // Each tagged member is read on its own (no copying) and inflated on the pool.
      while (!rest && !cut && queue.length < parallel && offset < size) {
        const { bytesRead } = await fh.read(head, 0, head.length, offset);
        const len = taggedLength(head.subarray(0, bytesRead));
        if (len === undefined) rest = true;
        else if (len === 'short' || offset + len > size) cut = true;
        else {
          const member = Buffer.allocUnsafe(len);
          await readFully(fh, member, offset);
          const p = inflate(member);
          p.catch(() => undefined); // awaited in order below; no unhandled rejection meanwhile
          queue.push(p);
          offset += len;
        }
      }
      const next = queue.shift();
      if (!next && cut) throw truncated();
      if (!next) break;
      yield await next;
    }
    if (!rest) return;
    // One stream from the first untagged member to the end of the file.
    const z = (gz = createGunzip({ chunkSize: 256 * 1024 }));
    rs = createReadStream(file, { start: offset, highWaterMark: 1024 * 1024 });
    rs.on('error', (e) => z.destroy(e));
    rs.pipe(z);
    for await (const chunk of z) yield chunk as Buffer;
  } finally {
    // Stopped early (the caller has what it wanted) or failed: nothing keeps reading.
    gz?.destroy();
    rs?.destroy();
    await fh.close();
  }
}

async function readFully(fh: FileHandle, buf: Buffer, at: number): Promise<void> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, at + filled);
    if (bytesRead === 0) throw truncated();
    filled += bytesRead;
  }
}

/** Inflate jobs in flight: one per core (at most 4, libuv's default pool) plus one, so a core never waits for the next. */
export const defaultInflateParallel = (): number => Math.min(availableParallelism(), 4) + 1;

function inflate(member: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => gunzip(member, { chunkSize: 1024 * 1024 + 64 * 1024 }, (err, out) => (err ? reject(err) : resolve(out))));
}

function truncated(): Error {
  return Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' });
}
