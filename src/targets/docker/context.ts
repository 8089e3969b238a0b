import * as dockerignoreModule from '@balena/dockerignore';
import { createReadStream, existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { walkSourceTree, type SourceEntry } from '../../core/source-tree.js';
import { tarEnd, tarHeader, tarPadding } from './tar.js';

/**
 * The build context as a tar stream, honouring .dockerignore (Docker's own
 * semantics) and never including Gantry's state or VCS metadata (`.gantry`, `.git`
 * at any depth, the state dir wherever it is). Extra files (a generated
 * Dockerfile) are added in memory, not written into the app. Names are written
 * as the bytes they are on disk, so a name that is not valid UTF-8 reaches the
 * image unchanged.
 */
export function contextTar(dir: string, opts: { exclude?: string[]; extra?: Record<string, string> } = {}): Readable {
  const root = resolve(dir);
  const ignoreFile = join(root, '.dockerignore');
  // The package is CommonJS with an ESM-style default export: take whichever shape Node hands us.
  const makeIgnore = ((dockerignoreModule as unknown as { default?: unknown }).default ?? dockerignoreModule) as (o: { ignorecase: boolean }) => { add(p: string): void; ignores(p: string): boolean };
  const ig = makeIgnore({ ignorecase: false });
  if (existsSync(ignoreFile)) ig.add(readFileSync(ignoreFile, 'utf8'));

  // Docker walks into ignored directories too (a later `!pattern` may re-include files), so every entry is tested.
  const files: SourceEntry[] = walkSourceTree(root, opts.exclude ?? []).filter((e) => !e.stat.isDirectory() && (e.stat.isFile() || e.stat.isSymbolicLink()) && !ig.ignores(e.rel.toString('utf8')));

  async function* entries(): AsyncGenerator<Buffer> {
    for (const [name, content] of Object.entries(opts.extra ?? {})) {
      const body = Buffer.from(content);
      yield tarHeader({ name: Buffer.from(name), type: 'file', mode: 0o644, size: body.length, mtime: new Date() });
      yield body;
      yield tarPadding(body.length);
    }
    for (const { abs, rel, stat } of files) {
      if (stat.isSymbolicLink()) {
        yield tarHeader({ name: rel, type: 'symlink', mode: stat.mode, size: 0, mtime: stat.mtime, linkname: readlinkSync(abs, { encoding: 'buffer' }) });
        continue;
      }
      yield tarHeader({ name: rel, type: 'file', mode: stat.mode, size: stat.size, mtime: stat.mtime });
      // Exactly the size announced in the header, whatever the file does meanwhile.
      let written = 0;
      if (stat.size > 0) {
        for await (const chunk of createReadStream(abs, { end: stat.size - 1 })) {
          written += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      }
      if (written < stat.size) yield Buffer.alloc(stat.size - written);
      yield tarPadding(stat.size);
    }
    yield tarEnd();
  }
  return Readable.from(entries(), { objectMode: false });
}
