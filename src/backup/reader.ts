import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { GantryError, isGantryError } from '../core/errors.js';
import { invalid, notOurs } from './manifest.js';
import { gunzipFile } from './parallel-gunzip.js';

/**
 * Streams a .tar.gz's entries, one at a time, to `visit` (node-tar's Parser behind our own
 * gunzip, which inflates tagged members in parallel, reads any multi-member gzip and reports
 * truncation). `visit` should consume the
 * entry's data; whatever it leaves is drained. Returning 'stop' ends the read early.
 * Every read or format problem becomes BACKUP_INVALID naming the file.
 */
export type EntryVisitor = (entry: ReadEntry, index: number) => Promise<void | 'stop'>;

/** The entry's path as written (node-tar keeps a directory's trailing slash). */
export const entryPath = (entry: ReadEntry): string => entry.path.replace(/\/+$/, '');

export async function readArchive(file: string, visit: EntryVisitor): Promise<void> {
  await checkGzipMagic(file);
  return new Promise<void>((resolve, reject) => {
    // Tagged members inflate in parallel; at most two inflated blocks wait for the parser.
    const gunzip = Readable.from(gunzipFile(file), { objectMode: false, highWaterMark: 2 * 1024 * 1024 });
    const parser = new Parser({ strict: true });
    let done = false;
    let chain: Promise<void> = Promise.resolve();
    let index = 0;
    let current: ReadEntry | undefined;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      gunzip.destroy();
      if (err === undefined) return resolve();
      const e = isGantryError(err) ? err : invalid(file, `cannot read it (${(err as Error).message ?? String(err)})`);
      // The entry a visitor still reads ends now, and the failure is reported once the visitor has
      // returned: a caller cleaning up after it never races a write the visitor was still making.
      current?.destroy();
      void chain.then(
        () => reject(e),
        () => reject(e),
      );
    };
    gunzip.on('error', (e: NodeJS.ErrnoException) =>
      finish(
        e.code === 'Z_BUF_ERROR'
          ? invalid(file, 'truncated: the compressed data ends early (an interrupted copy?)')
          : e.code?.startsWith('Z_')
            ? invalid(file, `damaged compressed data (${e.message})`)
            : invalid(file, `cannot read it (${e.message})`),
      ),
    );
    parser.on('error', (e: Error) => finish(/Unrecognized archive format/.test(e.message) ? notOurs(file, 'not a tar archive') : invalid(file, `damaged archive (${e.message})`)));
    parser.on('ignoredEntry', (entry: ReadEntry) => finish(invalid(file, `entry "${entry.path}" has a type a Gantry backup never holds (${entry.type})`)));
    parser.on('entry', (entry: ReadEntry) => {
      const i = index++;
      chain = chain.then(async () => {
        if (done) return void entry.resume();
        current = entry;
        const r = await visit(entry, i).finally(() => (current = undefined));
        if (r === 'stop') return finish();
        if (!entry.emittedEnd) entry.resume();
      });
      chain.catch(finish);
    });
    parser.on('end', () => void chain.then(() => finish(), finish));
    gunzip.pipe(parser as unknown as NodeJS.WritableStream);
  });
}

async function checkGzipMagic(file: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GantryError('USAGE', `${file}: no such backup file`, '`gantry backups` lists the backups');
    throw invalid(file, `cannot open it (${(e as Error).message})`);
  }
  try {
    const { bytesRead, buffer } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    if (bytesRead === 0) throw invalid(file, 'empty file (an interrupted backup or copy?)');
    if (bytesRead < 2 || buffer[0] !== 0x1f || buffer[1] !== 0x8b) throw notOurs(file, 'not a gzip file');
  } catch (e) {
    if (isGantryError(e)) throw e;
    throw invalid(file, `cannot read it (${(e as Error).message})`);
  } finally {
    await fh.close();
  }
}
