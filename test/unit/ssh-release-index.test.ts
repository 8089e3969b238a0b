import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOB_NAME_RE, indexRelease } from '../../src/targets/ssh/release-index.js';
import { persistPlan } from '../../src/targets/ssh/transfer.js';
import { appDirOf } from '../../src/targets/ssh/remote-script.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gantry-relindex-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('release index for the ssh transfer', () => {
  it('names each file by sha256 and mode (hard links share a mode), keeps dirs, symlinks and empty dirs, leaves out .git/.gantry', async () => {
    writeFileSync(join(dir, 'a.sh'), 'same\n');
    chmodSync(join(dir, 'a.sh'), 0o755);
    writeFileSync(join(dir, 'b.txt'), 'same\n');
    chmodSync(join(dir, 'b.txt'), 0o644);
    writeFileSync(join(dir, 'c.txt'), 'same\n');
    chmodSync(join(dir, 'c.txt'), 0o644);
    mkdirSync(join(dir, 'empty'), { mode: 0o700 });
    symlinkSync('a.sh', join(dir, 'link'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref\n');
    const index = await indexRelease(dir);
    const h = sha('same\n');
    expect(index.entries).toEqual([
      { kind: 'file', rel: 'a.sh', blob: `${h.slice(0, 2)}/${h}.755`, size: 5 },
      { kind: 'file', rel: 'b.txt', blob: `${h.slice(0, 2)}/${h}.644`, size: 5 },
      { kind: 'file', rel: 'c.txt', blob: `${h.slice(0, 2)}/${h}.644`, size: 5 },
      { kind: 'dir', rel: 'empty', mode: 0o700 },
      { kind: 'symlink', rel: 'link', target: 'a.sh' },
    ]);
    expect([...index.blobs.keys()]).toHaveLength(2);
    for (const b of index.blobs.keys()) expect(b).toMatch(BLOB_NAME_RE);
    expect(index.files).toBe(3);
  });

  it('refuses a name that is not UTF-8 instead of mangling it', async () => {
    writeFileSync(Buffer.concat([Buffer.from(`${dir}/bad-`), Buffer.from([0xff]), Buffer.from('.txt')]), 'x');
    await expect(indexRelease(dir)).rejects.toThrow(/not a plain UTF-8 name/);
  });

  it('persist paths: relative links to <app>/shared, local persist links skipped, unsafe paths and symlinked parents refused', async () => {
    mkdirSync(join(dir, 'var'));
    mkdirSync(join(dir, 'data'));
    symlinkSync('/elsewhere', join(dir, 'uploads'));
    symlinkSync('/tmp', join(dir, 'cache'));
    const index = await indexRelease(dir);
    expect(persistPlan(index, ['data', 'var/log/', 'uploads'])).toEqual({ pairs: ['data', '../../shared/data', 'var/log', '../../../shared/var/log', 'uploads', '../../shared/uploads'], skip: ['uploads'] });
    for (const bad of ['../x', '/abs', '-rf', 'a/../b', 'a b', "x'y", 'a\nb']) expect(() => persistPlan(index, [bad]), bad).toThrow(/cannot be used on an ssh host/);
    expect(() => persistPlan(index, ['cache/sub'])).toThrow(/cache is a symlink in the release/);
  });

  it('remote paths and names are validated before they reach a host', () => {
    expect(appDirOf('/opt/gantry/', 'web')).toBe('/opt/gantry/web');
    for (const [path, app] of [['relative', 'web'], ['/opt/../etc', 'web'], ['/opt/$(x)', 'web'], ['/opt', 'Web'], ['/opt', 'a;b']]) expect(() => appDirOf(path!, app!)).toThrow(/invalid/);
  });
});
