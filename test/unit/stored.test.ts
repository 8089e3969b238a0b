/** What the engine reads back from the store is parsed with its schema: old rows get today's defaults, durations stay milliseconds, bad rows are refused. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/core/defaults.js';
import { releaseManifestOf, storedSteps } from '../../src/engine/stored.js';
import { planRollout } from '../../src/engine/plan.js';
import { ManifestSchema } from '../../src/manifest/index.js';
import { Store } from '../../src/store/index.js';
import { releaseManifest } from '../../src/engine/util.js';

const fresh = () => new Store(join(mkdtempSync(join(tmpdir(), 'gantry-stored-')), 'state.db'));

function release(store: Store, id: string, manifest: Record<string, unknown>) {
  store.ensureTarget('app', 'local', 'process');
  return store.insertRelease({ id, app: 'app', target: 'local', contentHash: id, artifact: { ref: id }, manifest, status: 'built' });
}

describe('stored release manifests', () => {
  it('a manifest stored before defaults existed gets them when read back', () => {
    const s = fresh();
    const old = release(s, 'r1', { app: 'app', run: { command: 'node server.js' }, env: { A: 'x' } });
    const m = releaseManifestOf(s.getRelease('app', 'local', old.id)!);
    expect(m.run).toEqual({ command: 'node server.js', port: DEFAULTS.run.port, instances: DEFAULTS.run.instances });
    expect(m.strategy.stop_timeout).toBe(DEFAULTS.strategy.stopTimeoutMs);
    expect(m.strategy.drain_timeout).toBe(DEFAULTS.strategy.drainTimeoutMs);
    expect(m.health).toMatchObject({ type: 'http', path: DEFAULTS.health.path, interval: DEFAULTS.health.intervalMs, start_period: DEFAULTS.health.startPeriodMs, retries: DEFAULTS.health.retries });
    expect(m.persist).toEqual([]);
    expect(m.env).toEqual({ A: 'x' });
    expect(m.gantry_secrets).toBeUndefined();
    s.close();
  });

  it('reads back exactly what a deploy stored: durations stay milliseconds (a number in gantry.yaml means seconds)', () => {
    const s = fresh();
    const parsed = ManifestSchema.parse({ app: 'app', strategy: { stop_timeout: '25s', watch: 3, pause: 'manual' }, health: { command: 'true', interval: '500ms' }, autoscale: { min: 1, max: 3, cpu_percent: 50 }, backup: { before_deploy: true } });
    const stored = { ...releaseManifest(parsed), gantry_secrets: { env: 'prod', versions: { TOKEN: '3' } } };
    const rel = release(s, 'r2', JSON.parse(JSON.stringify(stored)));
    const m = releaseManifestOf(s.getRelease('app', 'local', rel.id)!);
    expect(m).toEqual(stored);
    expect(m.strategy.stop_timeout).toBe(25_000);
    expect(m.strategy.watch).toBe(3_000);
    expect(m.health.type).toBe('command');
    s.close();
  });

  it('schema defaults are applied once, by the schema: autoscale cooldown and backups kept', () => {
    const m = ManifestSchema.parse({ app: 'app', autoscale: { min: 1, max: 2, concurrency: 5 }, backup: { before_deploy: true } });
    expect(m.autoscale!.cooldown).toBe(DEFAULTS.autoscale.cooldownMs);
    expect(m.backup!.keep).toBe(DEFAULTS.backupsKept);
  });

  it('a stored manifest that does not parse is an error naming the release, not a cast', () => {
    const s = fresh();
    release(s, 'r3', { app: 'app', strategy: { stop_timeout: 'soon' } });
    expect(() => releaseManifestOf(s.getRelease('app', 'local', 'r3')!)).toThrow(/manifest of release r3.*strategy\.stop_timeout/);
    s.close();
  });
});

describe('stored steps', () => {
  it('are parsed back into the Steps that were planned', () => {
    const s = fresh();
    s.ensureTarget('app', 'local', 'process');
    s.insertDeployment({ id: 'd1', app: 'app', target: 'local', targetType: 'process', kind: 'deploy', actor: 't' });
    const steps = planRollout({ release: 'r2', newInstances: ['i1', 'i2'], old: [{ instance: 'o1', release: 'r1' }], strategy: { type: 'canary', maxSurge: 1, maxUnavailable: 0, steps: [50, 100], pause: 'manual', watchMs: 1000 }, exclusive: false });
    s.insertSteps('d1', steps.map((x) => ({ kind: x.kind, params: x })));
    expect(storedSteps(s, 'd1').map((r) => r.step)).toEqual(steps);
    s.close();
  });

  it('a stored step that does not parse is refused', () => {
    const s = fresh();
    s.ensureTarget('app', 'local', 'process');
    s.insertDeployment({ id: 'd2', app: 'app', target: 'local', targetType: 'process', kind: 'deploy', actor: 't' });
    s.insertSteps('d2', [{ kind: 'analyze', params: { kind: 'analyze', release: 'r', percent: 'ten', pause: 0 } }]);
    expect(() => storedSteps(s, 'd2')).toThrow(/step 1 \(analyze\) of deployment d2/);
    s.close();
  });
});
