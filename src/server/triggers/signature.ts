import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** `sha256=<hex>` of HMAC-SHA256(secret, body): GitHub's X-Hub-Signature-256, and Gantry's own X-Gantry-Signature. */
export function hmacSha256Header(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Checks a `sha256=<64 hex>` header against HMAC-SHA256(secret, body) in constant time
 * (crypto.timingSafeEqual on the raw digests). Anything else (absent, another algorithm,
 * a bad length) is false.
 */
export function verifyHmacSha256(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1], 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(given, expected);
}

/**
 * Compares a shared token (GitLab's X-Gitlab-Token is the secret itself) in constant time:
 * both sides are hashed first so their lengths match and the secret's length does not leak.
 */
export function tokensEqual(secret: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(secret).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b) && secret.length > 0;
}
