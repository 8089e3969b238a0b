import type { FileHandle } from 'node:fs/promises';
import { Header, Pax, type HeaderData } from 'tar';
import { GantryError } from '../core/errors.js';
import { EMPTY_SHA256, sha256Hex, StreamDigest } from './hash.js';

/**
 * Writes tar entries (headers encoded by node-tar, pax when a path or size needs it)
 * to a byte sink, hashing each file's content as it streams through, so the
 * manifest records exactly the bytes that went into the archive.
 */
export interface ByteSink {
  write(chunk: Buffer): Promise<void>;
}

const BLOCK = 512;
const READ_CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(BLOCK * 2);

export class TarWriter {
  constructor(private readonly out: ByteSink) {}

  private async header(h: HeaderData): Promise<void> {
    const header = new Header({ uid: 0, gid: 0, uname: '', gname: '', ...h });
    if (header.encode()) {
      await this.out.write(new Pax({ path: h.path, linkpath: h.linkpath, size: h.size, mtime: h.mtime }).encode());
    }
    await this.out.write(header.block!);
  }

  private async pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest) await this.out.write(ZEROS.subarray(0, BLOCK - rest));
  }

  async dir(path: string, mode: number, mtime: Date): Promise<string> {
    await this.header({ path: path + '/', type: 'Directory', mode, size: 0, mtime });
    return EMPTY_SHA256;
  }

  async symlink(path: string, link: string, mode: number, mtime: Date): Promise<string> {
    await this.header({ path, type: 'SymbolicLink', linkpath: link, mode, size: 0, mtime });
    return sha256Hex(link);
  }

  async buffer(path: string, data: Buffer, mode: number, mtime: Date): Promise<string> {
    await this.header({ path, type: 'File', mode, size: data.length, mtime });
    await this.out.write(data);
    await this.pad(data.length);
    return sha256Hex(data);
  }

  /**
   * Streams `size` bytes of an open file. A file that grew meanwhile is cut at
   * `size` (the length when it was opened); one that shrank cannot be archived
   * consistently and fails.
   */
  async file(path: string, fh: FileHandle, size: number, mode: number, mtime: Date): Promise<string> {
    await this.header({ path, type: 'File', mode, size, mtime });
    const digest = new StreamDigest();
    let pos = 0;
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, size - pos));
      let filled = 0;
      while (filled < buf.length) {
        const { bytesRead } = await fh.read(buf, filled, buf.length - filled, pos + filled);
        if (bytesRead === 0) {
          throw new GantryError('BACKUP_INVALID', `cannot back up ${path}: the file shrank while it was being read (${pos + filled} of ${size} bytes)`, 'something is writing to it: retry, or stop the app during the backup');
        }
        filled += bytesRead;
      }
      digest.update(buf);
      await this.out.write(buf);
      pos += buf.length;
    }
    await this.pad(size);
    return digest.hex();
  }

  /** The two zero blocks that end a tar archive. */
  async finish(): Promise<void> {
    await this.out.write(ZEROS);
  }
}
