/**
 * Each gzip member Gantry writes names its own length in the header's FEXTRA field
 * (RFC 1952 2.3.1.1: a subfield `G`,`L` holding the member's total bytes, uint32
 * little-endian), as BGZF does for its blocks. Readers that do not know the subfield
 * skip it (gzip, GNU/BSD tar, Node, Python); Gantry's reader uses it to find every
 * member without inflating the ones before it, so members inflate in parallel.
 */

const FEXTRA = 0x04;
const SI1 = 0x47; // 'G'
const SI2 = 0x4c; // 'L'
/** 10-byte fixed header + XLEN (2) + one subfield (SI1, SI2, LEN: 4, value: 4). */
export const TAGGED_HEADER_BYTES = 10 + 2 + 8;
/** A tagged header, at least one byte of deflate data and the 8-byte trailer. */
const MIN_MEMBER_BYTES = TAGGED_HEADER_BYTES + 1 + 8;

/**
 * A gzip member as Node's zlib writes it (no flags set) with the length subfield added.
 * Anything else (flags already set, 4 GiB or more) is returned as it is: readers then
 * inflate from there on in one stream, as with any gzip file.
 */
export function tagMember(member: Buffer): Buffer {
  const total = member.length + 2 + 8;
  if (member.length < 18 || member[0] !== 0x1f || member[1] !== 0x8b || member[3] !== 0 || total > 0xffffffff) return member;
  const head = Buffer.alloc(TAGGED_HEADER_BYTES);
  member.copy(head, 0, 0, 10);
  head[3] = FEXTRA;
  head.writeUInt16LE(8, 10);
  head[12] = SI1;
  head[13] = SI2;
  head.writeUInt16LE(4, 14);
  head.writeUInt32LE(total, 16);
  return Buffer.concat([head, member.subarray(10)], total);
}

/**
 * The length of the member starting at `buf[0]` when its header is one `tagMember`
 * wrote; 'short' when fewer than its header's bytes are there yet; undefined when it
 * is any other gzip header (or not one at all): read the rest as one stream.
 */
export function taggedLength(buf: Buffer): number | 'short' | undefined {
  if (buf.length < TAGGED_HEADER_BYTES) return buf.length === 0 || (buf[0] === 0x1f && (buf.length < 2 || buf[1] === 0x8b)) ? 'short' : undefined;
  if (buf[0] !== 0x1f || buf[1] !== 0x8b || buf[2] !== 8 || buf[3] !== FEXTRA) return undefined;
  if (buf.readUInt16LE(10) !== 8 || buf[12] !== SI1 || buf[13] !== SI2 || buf.readUInt16LE(14) !== 4) return undefined;
  const len = buf.readUInt32LE(16);
  return len >= MIN_MEMBER_BYTES ? len : undefined;
}
