import * as dockerignoreModule from '@balena/dockerignore';
import { createReadStream, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pack } from 'tar-stream';
import { shouldCopy } from '../../engine/source.js';

/**
 * The build context as a tar stream, honouring .dockerignore (Docker's own
 * semantics) and never including Gantry's state or VCS metadata. Extra files
 * (a generated Dockerfile) are added in memory, not written into the app.
 */
export function contextTar(dir: string, opts: { exclude?: string[]; extra?: Record<string, string> } = {}): Readable {
  const root = resolve(dir);
  const ignoreFile = join(root, '.dockerignore');
  // The package is CommonJS with an ESM-style default export: take whichever shape Node hands us.
  const makeIgnore = ((dockerignoreModule as unknown as { default?: unknown }).default ?? dockerignoreModule) as (o: { ignorecase: boolean }) => { add(p: string): void; ignores(p: string): boolean };
  const ig = makeIgnore({ ignorecase: false });
  if (existsSync(ignoreFile)) ig.add(readFileSync(ignoreFile, 'utf8'));
  const excluded = (opts.exclude ?? []).map((p) => resolve(p));
  const tar = pack();

  const files: string[] = [];
  const walk = (abs: string): void => {
    for (const name of readdirSync(abs).sort()) {
      const full = join(abs, name);
      const rel = relative(root, full).split(sep).join('/');
      if (!shouldCopy(rel) || excluded.some((x) => full === x || full.startsWith(x + sep))) continue;
      const st = lstatSync(full);
      // Docker walks into ignored directories too (a later `!pattern` may re-include files).
      if (st.isDirectory()) walk(full);
      else if (!ig.ignores(rel)) files.push(full);
    }
  };
  walk(root);

  (async () => {
    for (const [name, content] of Object.entries(opts.extra ?? {})) await add(tar, { name, mode: 0o644 }, Buffer.from(content));
    for (const full of files) {
      const rel = relative(root, full).split(sep).join('/');
      const st = lstatSync(full);
      if (st.isSymbolicLink()) await add(tar, { name: rel, type: 'symlink', linkname: readlinkSync(full), mode: st.mode });
      else if (st.isFile()) await addFile(tar, { name: rel, size: st.size, mode: st.mode, mtime: st.mtime }, full);
    }
    tar.finalize();
  })().catch((err) => tar.destroy(err));
  return tar as unknown as Readable;
}

function add(tar: ReturnType<typeof pack>, header: Parameters<ReturnType<typeof pack>['entry']>[0], body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    tar.entry(header, body ?? '', (err) => (err ? rej(err) : res()));
  });
}

function addFile(tar: ReturnType<typeof pack>, header: Parameters<ReturnType<typeof pack>['entry']>[0], file: string): Promise<void> {
  return new Promise((res, rej) => {
    const entry = tar.entry(header, (err) => (err ? rej(err) : res()));
    createReadStream(file).on('error', rej).pipe(entry);
  });
}
