import { createHash } from 'node:crypto';

/** A key's fingerprint as OpenSSH prints it ("SHA256:" + unpadded base64 of the wire-format key's SHA-256). */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}
