import { createHash, type Hash } from 'node:crypto';

/** SHA-256 helpers: every entry of a backup is checked by size and SHA-256 (hex, lowercase). */

export const SHA256_RE = /^[0-9a-f]{64}$/;

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of nothing: what a directory entry carries. */
export const EMPTY_SHA256 = sha256Hex('');

/** Counts and hashes bytes as they stream past. */
export class StreamDigest {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  update(chunk: Buffer): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }
  hex(): string {
    return this.hash.digest('hex');
  }
}
