import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** Open a Store on `file` in a separate process (the real situation: two CLI commands on a new state dir). */
function openInChild(file: string): Promise<{ code: number; stderr: string }> {
  const script = `import { Store } from ${JSON.stringify(join(ROOT, 'dist/store/index.js'))}; const s = new Store(${JSON.stringify(file)}); s.ensureTarget('a', 'local', 'process'); s.close();`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr }));
  });
}

describe('store: several processes opening a new state.db at once', () => {
  it('migrates once; no process fails with "table already exists"', async () => {
    for (let round = 0; round < 5; round++) {
      const file = join(mkdtempSync(join(tmpdir(), 'gantry-store-race-')), 'state.db');
      const results = await Promise.all(Array.from({ length: 6 }, () => openInChild(file)));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
    }
  });
});
