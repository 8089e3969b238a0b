/** The convergence planner and the resume decision are pure: plans are data (issue 15 points 4, 5). */
import { describe, expect, it } from 'vitest';
import { planConverge, type ObservedForPlan } from '../../src/engine/plan-converge.js';
import { decideResume, type StoredStep } from '../../src/engine/resume.js';
import type { Step } from '../../src/engine/plan.js';

const id = (i: number): string => `new-${i}`;
const inst = (instance: string, release: string, healthy = true, routed = true): ObservedForPlan => ({ instance, release, healthy, routed });

describe('planConverge', () => {
  it('keeps healthy instances of the release (routed first), starts what is missing, routes, then retires everything else', () => {
    const steps = planConverge({ release: 'r2', count: 2, observed: [inst('a', 'r2', true, false), inst('b', 'r2', true, true), inst('c', 'r2', false), inst('d', 'r1')], newInstanceId: id, exclusive: false });
    expect(steps).toEqual([
      { kind: 'switchTraffic', routes: [{ instance: 'b', release: 'r2', weight: 1 }, { instance: 'a', release: 'r2', weight: 1 }] },
      { kind: 'drain', instances: ['c', 'd'] },
      { kind: 'stopInstance', instance: 'c' },
      { kind: 'stopInstance', instance: 'd' },
    ]);
  });

  it('scales up with health-gated starts before the new ones are routed', () => {
    const steps = planConverge({ release: 'r', count: 3, observed: [inst('a', 'r')], newInstanceId: id, exclusive: false });
    expect(steps.map((s) => s.kind)).toEqual(['startInstance', 'startInstance', 'checkHealth', 'checkHealth', 'switchTraffic']);
    expect(steps[0]).toEqual({ kind: 'startInstance', instance: 'new-1', release: 'r', index: 1 });
  });

  it('count 0 routes nothing and stops every instance', () => {
    expect(planConverge({ release: 'r', count: 0, observed: [inst('a', 'r')], newInstanceId: id, exclusive: false })).toEqual([
      { kind: 'switchTraffic', routes: [] },
      { kind: 'drain', instances: ['a'] },
      { kind: 'stopInstance', instance: 'a' },
    ]);
  });

  it('exclusive: another release drains and stops before anything new starts', () => {
    const kinds = planConverge({ release: 'r1', count: 1, observed: [inst('x', 'r2')], newInstanceId: id, exclusive: true }).map((s) => s.kind);
    expect(kinds).toEqual(['switchTraffic', 'drain', 'stopInstance', 'startInstance', 'checkHealth', 'switchTraffic']);
  });
});

const stored = (steps: Step[], statuses: Array<StoredStep['status']>): StoredStep[] => steps.map((step, idx) => ({ deploymentId: 'd', idx, kind: step.kind, params: step, status: statuses[idx] ?? 'pending', step }));
const rolling: Step[] = [
  { kind: 'startInstance', instance: 'n0', release: 'r2', index: 0 },
  { kind: 'checkHealth', instance: 'n0' },
  { kind: 'switchTraffic', routes: [{ instance: 'n0', release: 'r2', weight: 1 }] },
  { kind: 'watch', release: 'r2', instances: ['n0'], ms: 1000 },
  { kind: 'stopInstance', instance: 'o0' },
  { kind: 'record', release: 'r2' },
];

describe('decideResume', () => {
  it('a rollout goes back while traffic has not wholly moved, and continues after its last switch', () => {
    expect(decideResume({ kind: 'deploy' }, stored(rolling, ['done', 'running'])).action).toBe('compensate');
    expect(decideResume({ kind: 'deploy' }, stored(rolling, ['done', 'done', 'running'])).action).toBe('compensate');
    expect(decideResume({ kind: 'deploy' }, stored(rolling, ['done', 'done', 'done', 'running']))).toMatchObject({ action: 'continue', from: 3 });
    expect(decideResume({ kind: 'rollback' }, stored(rolling, ['done', 'done', 'done', 'done', 'done', 'running']))).toMatchObject({ action: 'continue', from: 5 });
  });

  it('an abort asked for, or a compensation already begun, always goes back', () => {
    expect(decideResume({ kind: 'deploy', control: 'abort' }, stored(rolling, ['done', 'done', 'done', 'running'])).action).toBe('compensate');
    const withCompensation = stored([...rolling, { kind: 'compensate', release: 'r1', count: 1, reason: 'x' }], ['done', 'failed', 'pending', 'pending', 'pending', 'pending', 'running']);
    expect(decideResume({ kind: 'deploy' }, withCompensation).action).toBe('compensate');
  });

  it('converging plans (start, scale, stop) continue at the interrupted step', () => {
    expect(decideResume({ kind: 'scale' }, stored(rolling, ['done', 'running']))).toMatchObject({ action: 'continue', from: 1 });
    expect(decideResume({ kind: 'stop' }, stored([{ kind: 'shutdown' }], ['running']))).toMatchObject({ action: 'continue', from: 0 });
  });
});
