import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');

async function depcruise(dir: string, outputType: 'json' | 'err'): Promise<{ code: number; stdout: string }> {
  return promisify(execFile)(DEPCRUISE, [dir, '--config', '.dependency-cruiser.cjs', '--output-type', outputType], { cwd: ROOT, maxBuffer: 64 << 20 }).then(
    (ok) => ({ code: 0, stdout: ok.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

/** The violations (from the JSON report) and the exit code of the same check as `npm run lint` runs it. */
async function cruise(dir: string): Promise<{ code: number; violations: Array<{ from: string; to: string; rule: { name: string } }> }> {
  const [json, lint] = await Promise.all([depcruise(dir, 'json'), depcruise(dir, 'err')]);
  return { code: lint.code, violations: JSON.parse(json.stdout).summary.violations };
}

const short = (p: string) => p.replace(/^.*?src\//, '').replace(/^.*?node_modules\//, '');

describe('architecture boundaries (dependency-cruiser, run by npm run lint)', () => {
  it('the real source tree has no violation', async () => {
    const r = await cruise('src');
    expect(r.violations.map((v) => `${v.from} -> ${v.to}`)).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('fails on deliberately bad imports in a fixture, static and dynamic', async () => {
    const r = await cruise('test/fixtures/boundaries/src');
    expect(r.code).not.toBe(0);
    const found = r.violations.map((v) => `${short(v.from)} -> ${short(v.to)}`).sort();
    expect(found).toEqual(
      [
        'agent/imports-engine.ts -> engine/ok.ts',
        'cli/imports-target.ts -> targets/docker/index.ts',
        'engine/dynamic-bad.ts -> targets/docker/index.ts',
        'engine/imports-backup.ts -> backup/index.ts',
        'engine/imports-secrets.ts -> secrets/paths.ts',
        // Nothing in the engine opens a connection to an instance (health is probed by the node agent).
        'engine/opens-connection.ts -> net',
        'engine/opens-connection.ts -> undici/index.js',
        'engine/static-bad.ts -> targets/process/index.ts',
        'misc/unknown.ts -> path',
        'proxy/imports-engine.ts -> engine/ok.ts',
        'targets/docker/index.ts -> targets/process/index.ts',
      ].sort(),
    );
  });
});
