import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { registry } from '../../src/registry/index.js';
import { TARGETS } from './targets.js';

describe('conformance table', () => {
  it('every registered target type has a conformance entry', () => {
    expect(registry.types().filter((type) => !TARGETS.some((t) => t.type === type))).toEqual([]);
  });

  it('every conformance entry has its test file', () => {
    expect(TARGETS.map((t) => `${t.type}.test.ts`).filter((f) => !existsSync(join(import.meta.dirname, f)))).toEqual([]);
  });
});
