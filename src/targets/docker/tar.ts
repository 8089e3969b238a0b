/**
 * A minimal tar (ustar + pax) encoder whose names are bytes, for build contexts: a file
 * name that is not valid UTF-8 is written exactly as it is on disk (Docker reads names
 * as bytes). Long names and links go into a pax header, as GNU tar and Docker expect.
 */
export interface TarEntryHeader {
  name: Buffer;
  type: 'file' | 'symlink';
  mode: number;
  size: number;
  mtime: Date;
  linkname?: Buffer;
}

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

function octal(buf: Buffer, value: number, offset: number, width: number): void {
  buf.write(Math.floor(value).toString(8).padStart(width - 1, '0').slice(-(width - 1)) + '\0', offset, width, 'ascii');
}

function header(name: Buffer, typeflag: string, mode: number, size: number, mtime: Date, linkname?: Buffer): Buffer {
  const buf = Buffer.alloc(BLOCK);
  name.copy(buf, 0, 0, Math.min(name.length, 100));
  octal(buf, mode & 0o7777, 100, 8);
  octal(buf, 0, 108, 8);
  octal(buf, 0, 116, 8);
  octal(buf, Math.min(size, MAX_OCTAL_SIZE), 124, 12);
  octal(buf, mtime.getTime() / 1000, 136, 12);
  buf.write(typeflag, 156, 1, 'ascii');
  if (linkname) linkname.copy(buf, 157, 0, Math.min(linkname.length, 100));
  buf.write('ustar\0', 257, 6, 'ascii');
  buf.write('00', 263, 2, 'ascii');
  buf.fill(' ', 148, 156);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return buf;
}

/** One pax record: "<len> key=value\n", where len counts the whole record in bytes. */
function paxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = rest.length + 1;
  while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
  return Buffer.concat([Buffer.from(String(len)), rest]);
}

export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** The header block(s) of one entry; its body (for a file) and `tarPadding(size)` follow. */
export function tarHeader(h: TarEntryHeader): Buffer {
  const records: Buffer[] = [];
  if (h.name.length > 100) records.push(paxRecord('path', h.name));
  if (h.linkname && h.linkname.length > 100) records.push(paxRecord('linkpath', h.linkname));
  if (h.size > MAX_OCTAL_SIZE) records.push(paxRecord('size', Buffer.from(String(h.size))));
  const main = header(h.name, h.type === 'symlink' ? '2' : '0', h.mode, h.type === 'symlink' ? 0 : h.size, h.mtime, h.linkname);
  if (records.length === 0) return main;
  const pax = Buffer.concat(records);
  return Buffer.concat([header(Buffer.from('PaxHeader'), 'x', 0o644, pax.length, h.mtime), pax, tarPadding(pax.length), main]);
}
