import { describe, expect, it } from 'vitest';
import { cpuPercentBetween, decideScale } from '../../src/engine/autoscale.js';

const policy = { min: 1, max: 4, cpuPercent: 50, cooldownMs: 1000 };

describe('decideScale', () => {
  it('scales up in proportion to the load, within max', () => {
    expect(decideScale(1, { cpuPercent: 100 }, policy, 5000)?.desired).toBe(2);
    expect(decideScale(2, { cpuPercent: 190 }, policy, 5000)?.desired).toBe(4);
    expect(decideScale(2, { cpuPercent: 900 }, policy, 5000)?.desired).toBe(4);
  });
  it('scales down to min when idle, and waits out the cooldown', () => {
    expect(decideScale(4, { cpuPercent: 0 }, policy, 5000)?.desired).toBe(1);
    expect(decideScale(4, { cpuPercent: 0 }, policy, 500)).toBeUndefined();
  });
  it('ignores noise within 10% of the target', () => {
    expect(decideScale(2, { cpuPercent: 53 }, policy, 5000)).toBeUndefined();
  });
  it('takes the metric asking for more instances; records why', () => {
    const d = decideScale(1, { cpuPercent: 10, inflight: 6 }, { ...policy, concurrency: 2 }, 5000)!;
    expect(d.desired).toBe(3);
    expect(d.reason).toMatch(/in-flight/);
  });
  it('computes CPU percent from cumulative seconds', () => {
    expect(cpuPercentBetween(1, 1.5, 1000)).toBe(50);
  });
});
