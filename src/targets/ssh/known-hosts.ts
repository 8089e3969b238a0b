import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * OpenSSH's known_hosts file, read and appended the way `ssh` does: one line per key,
 * "PATTERNS KEYTYPE BASE64 [COMMENT]", hosts written "host" for port 22 and "[host]:port"
 * otherwise, hashed names "|1|salt|hmac" matched, "@revoked" honoured and "@cert-authority"
 * lines ignored (no certificates here). Patterns with wildcards or negations are matched too.
 */

export interface KnownHostEntry {
  readonly keyType: string;
  /** The key in SSH wire format (what the server presents in its handshake). */
  readonly key: Buffer;
  readonly revoked: boolean;
  readonly line: number;
}

export type HostKeyVerdict =
  | { readonly kind: 'match'; readonly line: number }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'changed'; readonly lines: readonly number[] }
  | { readonly kind: 'revoked'; readonly line: number };

/** The name a host is recorded under: "host" for port 22, "[host]:port" otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function hashedNameMatches(pattern: string, name: string): boolean {
  const parts = pattern.split('|'); // ["", "1", salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  return createHmac('sha1', salt).update(name).digest('base64') === parts[3];
}

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/** True when a comma-separated pattern list names the host (a matching "!pattern" excludes it). */
function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedNameMatches(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (globMatches(p.slice(1), name)) return false;
    } else if (globMatches(p, name)) matched = true;
  }
  return matched;
}

/** The key type written inside an SSH wire-format key ("ssh-ed25519", "ecdsa-sha2-nistp256", ...). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return '';
  const len = key.readUInt32BE(0);
  return key.subarray(4, 4 + len).toString('latin1');
}

/** Every entry of a known_hosts text that names host:port. Malformed lines are skipped, as ssh does. */
export function entriesFor(text: string, host: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    let fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      if (fields[0] === '@cert-authority') return;
      revoked = fields[0] === '@revoked';
      if (!revoked) return;
      fields = fields.slice(1);
    }
    if (fields.length < 3 || !patternsMatch(fields[0]!, name)) return;
    const key = Buffer.from(fields[2]!, 'base64');
    if (keyTypeOf(key) !== fields[1]) return;
    out.push({ keyType: fields[1]!, key, revoked, line: i + 1 });
  });
  return out;
}

/** Compare the key a server presented with what the file says about that host. */
export function verifyHostKey(text: string, host: string, port: number, presented: Buffer): HostKeyVerdict {
  const entries = entriesFor(text, host, port);
  const revoked = entries.find((e) => e.revoked && e.key.equals(presented));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const match = entries.find((e) => !e.revoked && e.key.equals(presented));
  if (match) return { kind: 'match', line: match.line };
  const sameType = entries.filter((e) => !e.revoked && e.keyType === keyTypeOf(presented));
  // Like ssh: a key of a type the file has no entry for is "unknown", not "changed".
  return sameType.length > 0 ? { kind: 'changed', lines: sameType.map((e) => e.line) } : { kind: 'unknown' };
}

/** Key types the file holds for the host: offered first in the handshake so the server presents one of them. */
export function knownKeyTypes(text: string, host: string, port: number): string[] {
  return [...new Set(entriesFor(text, host, port).filter((e) => !e.revoked).map((e) => e.keyType))];
}

export function readKnownHosts(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** Record a host's key (trust on first use). Written hashed, like ssh's HashKnownHosts (Debian's default). */
export function recordHostKey(file: string, host: string, port: number, key: Buffer): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(knownHostsName(host, port)).digest('base64')}`;
  const existing = readKnownHosts(file);
  const sep = existing && !existing.endsWith('\n') ? '\n' : '';
  appendFileSync(file, `${sep}${hashed} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o644 });
}
