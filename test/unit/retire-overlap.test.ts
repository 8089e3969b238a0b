/** Which steps of a plan retire the old release beside the record (src/engine/executor.ts overlappedRetirement). */
import { describe, expect, it } from 'vitest';
import { overlappedRetirement } from '../../src/engine/executor.js';
import { planRollout, type Step } from '../../src/engine/plan.js';

const base = { release: 'r2', newInstances: ['n0', 'n1'], old: [{ instance: 'o0', release: 'r1' }, { instance: 'o1', release: 'r1' }] };
const withRecord = (steps: Step[]): Step[] => [...steps, { kind: 'record', release: 'r2' }];
const kinds = (steps: Step[], r?: { start: number; end: number }) => (r ? steps.slice(r.start, r.end).map((s) => s.kind) : undefined);

describe('overlappedRetirement', () => {
  it('rolling, canary and blue-green: the last retirement (after the last switch) runs beside the record', () => {
    for (const strategy of [{ type: 'rolling', maxSurge: 1, maxUnavailable: 0 }, { type: 'canary', maxSurge: 1, maxUnavailable: 0, steps: [50] }, { type: 'blue-green', maxSurge: 1, maxUnavailable: 0 }, { type: 'blue-green', maxSurge: 1, maxUnavailable: 0, keepPreviousMs: 5000 }] as const) {
      const steps = withRecord(planRollout({ ...base, strategy }));
      const r = overlappedRetirement(steps, 0);
      expect(r, strategy.type).toBeDefined();
      expect(r!.end).toBe(steps.length - 1);
      expect(steps.slice(r!.start - 1, r!.start)[0]!.kind).toBe('switchTraffic');
      expect(kinds(steps, r)!.every((k) => ['drain', 'stopInstance', 'keepWarm'].includes(k))).toBe(true);
    }
  });

  it('a watch window: the deferred retirement after the watch', () => {
    const steps = withRecord(planRollout({ ...base, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0, watchMs: 3000 } }));
    const r = overlappedRetirement(steps, 0)!;
    expect(steps[r.start - 1]!.kind).toBe('watch');
  });

  it('recreate / exclusive (stopped before the new start), a first deploy, node steps and a plan without a record: nothing overlaps', () => {
    expect(overlappedRetirement(withRecord(planRollout({ ...base, strategy: { type: 'recreate', maxSurge: 1, maxUnavailable: 0 } })), 0)).toBeUndefined();
    expect(overlappedRetirement(withRecord(planRollout({ ...base, old: [], strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } })), 0)).toBeUndefined();
    expect(overlappedRetirement(planRollout({ ...base, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } }), 0)).toBeUndefined();
    const nodeSteps: Step[] = [{ kind: 'stopInstance', instance: 'o0', node: 'a' } as Step, { kind: 'record', release: 'r2' }];
    expect(overlappedRetirement(nodeSteps, 0)).toBeUndefined();
  });

  it('never an instance the plan routes to at its end', () => {
    const steps: Step[] = [{ kind: 'switchTraffic', routes: [{ instance: 'n0', release: 'r2' }] }, { kind: 'stopInstance', instance: 'n0' }, { kind: 'record', release: 'r2' }];
    expect(overlappedRetirement(steps, 0)).toBeUndefined();
  });

  it('resumed from inside the retirement: from there on', () => {
    const steps = withRecord(planRollout({ ...base, newInstances: ['n0'], old: [{ instance: 'o0', release: 'r1' }], strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } }));
    const stop = steps.findIndex((s) => s.kind === 'stopInstance');
    expect(overlappedRetirement(steps, stop)).toEqual({ start: stop, end: steps.length - 1 });
  });
});
