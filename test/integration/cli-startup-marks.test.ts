/**
 * The start-up marks bench/startup.js splits "CLI start to the plan" with: written only when
 * GANTRY_STARTUP_MARKS names a file, in the order the phases run.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyExample, gantry } from '../helpers/cli.js';

describe('start-up marks', () => {
  it('a run with GANTRY_STARTUP_MARKS writes bin < compiled < main < action; a run without it writes nothing', async () => {
    const dir = copyExample('hello-node');
    const out = mkdtempSync(join(tmpdir(), 'gantry-marks-'));
    try {
      const file = join(out, 'marks.json');
      const r = await gantry(['validate', '--json'], { cwd: dir, env: { GANTRY_STARTUP_MARKS: file } });
      expect(r.code, r.stderr).toBe(0);
      const { timeOrigin, marks } = JSON.parse(readFileSync(file, 'utf8'));
      expect(Number.isFinite(timeOrigin)).toBe(true);
      expect(Object.keys(marks)).toEqual(['bin', 'compiled', 'main', 'action']);
      expect(marks.bin).toBeGreaterThan(0);
      expect(marks.compiled).toBeGreaterThan(marks.bin);
      expect(marks.main).toBeGreaterThan(marks.compiled);
      expect(marks.action).toBeGreaterThan(marks.main);

      rmSync(file);
      const plain = await gantry(['validate', '--json'], { cwd: dir, env: { GANTRY_STARTUP_MARKS: undefined } });
      expect(plain.code, plain.stderr).toBe(0);
      expect(existsSync(file)).toBe(false);
    } finally {
      rmSync(out, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
