import { describe, expect, it } from 'vitest';
import { planRollout, type Step } from '../../src/engine/plan.js';

const kinds = (steps: Step[]) => steps.map((s) => s.kind);
const base = { release: 'r2', newInstances: ['n0', 'n1', 'n2'], exclusive: false };
const old = [
  { instance: 'o0', release: 'r1' },
  { instance: 'o1', release: 'r1' },
  { instance: 'o2', release: 'r1' },
];

describe('planRollout', () => {
  it('first deploy: start, health-check, then route', () => {
    const steps = planRollout({ ...base, old: [], strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
    expect(kinds(steps)).toEqual(['startInstance', 'startInstance', 'startInstance', 'checkHealth', 'checkHealth', 'checkHealth', 'switchTraffic']);
  });

  it('rolling with surge 1 replaces one instance at a time and never routes fewer than before', () => {
    const steps = planRollout({ ...base, old, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
    const switches = steps.filter((s): s is Extract<Step, { kind: 'switchTraffic' }> => s.kind === 'switchTraffic');
    expect(switches.map((s) => s.routes.map((r) => r.instance))).toEqual([
      ['o1', 'o2', 'n0'],
      ['o2', 'n0', 'n1'],
      ['n0', 'n1', 'n2'],
    ]);
    // every health check comes before the switch that routes to that instance
    for (const sw of switches) for (const r of sw.routes.filter((x) => x.release === 'r2')) {
      expect(steps.findIndex((s) => s.kind === 'checkHealth' && s.instance === r.instance)).toBeLessThan(steps.indexOf(sw));
    }
    // an old instance is drained before it is stopped
    for (const o of ['o0', 'o1', 'o2']) {
      const drain = steps.findIndex((s) => s.kind === 'drain' && s.instances.includes(o));
      const stop = steps.findIndex((s) => s.kind === 'stopInstance' && s.instance === o);
      expect(drain).toBeGreaterThan(-1);
      expect(drain).toBeLessThan(stop);
    }
  });

  it('rolling to fewer instances retires the surplus in the last batch', () => {
    const steps = planRollout({ ...base, newInstances: ['n0'], old, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
    expect(steps.filter((s) => s.kind === 'stopInstance')).toHaveLength(3);
  });

  it('blue-green starts and verifies the whole new set, then switches once', () => {
    const steps = planRollout({ ...base, old, strategy: { type: 'blue-green', maxSurge: 1, maxUnavailable: 0 } });
    expect(steps.filter((s) => s.kind === 'switchTraffic')).toHaveLength(1);
    expect(kinds(steps).indexOf('switchTraffic')).toBeGreaterThan(kinds(steps).lastIndexOf('checkHealth'));
  });

  it('exclusive apps stop the old set (after draining) before the new one starts', () => {
    const steps = planRollout({ ...base, old, exclusive: true, strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 } });
    expect(kinds(steps).lastIndexOf('stopInstance')).toBeLessThan(kinds(steps).indexOf('startInstance'));
    expect(steps[0]).toEqual({ kind: 'switchTraffic', routes: [] });
  });
});
