/**
 * The optional TargetRuntime.judgeCanary (added for the kubernetes target, whose
 * cluster judges its canaries): when a runtime has it, the engine's canary steps
 * take its verdict instead of the proxy's figures. Real processes: the target is
 * the process target whose runtime gives a verdict this test controls; it is
 * registered only here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Target, TargetRegistry, TargetRuntime } from '../../dist/engine/index.js';
import { Engine } from '../../dist/engine/index.js';
import { loadManifest } from '../../dist/manifest/index.js';
import { registry } from '../../dist/registry/index.js';
import { Store } from '../../dist/store/index.js';
import { processTarget } from '../../dist/targets/process/index.js';
import { copyExample, killAgents } from '../helpers/cli.js';

/** What the "platform" says about every canary step, and what it was asked. */
const platform = { verdict: 'pass' as 'pass' | 'fail' | 'inconclusive', asked: [] as Array<{ release: string; percent: number }> };

const judged: Target<any> = {
  ...processTarget,
  type: 'judged',
  async runtime(ctx) {
    const runtime: TargetRuntime = await processTarget.runtime(ctx as never);
    runtime.judgeCanary = async (step) => {
      platform.asked.push({ release: step.release, percent: step.percent });
      return { verdict: platform.verdict, reasons: [`the platform says ${platform.verdict}`] };
    };
    return runtime;
  },
};
const judgedRegistry: TargetRegistry = {
  types: () => [...registry.types(), 'judged'],
  configSchema: (t) => (t === 'judged' ? processTarget.configSchema : registry.configSchema(t)),
  describe: (t) => (t === 'judged' ? { ...processTarget, type: 'judged' } : registry.describe(t)),
  load: async (t) => (t === 'judged' ? judged : registry.load(t)),
};

const dir = copyExample('hello-node');
const store = new Store(join(dir, '.gantry', 'state.db'));
const engine = new Engine({ store, registry: judgedRegistry, stateDir: join(dir, '.gantry'), actor: 'test' });
let version = 0;

afterAll(async () => {
  await engine.stop(load(), undefined).catch(() => undefined);
  store.close();
  killAgents(dir);
});

function load() {
  version++;
  // No client sends a request: the proxy's own figures would stay inconclusive (min_requests) and fail the step.
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [`app: judged-${process.pid}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms, timeout: 2s, retries: 2, start_period: 5s }', `env: { GREETING: "v${version}" }`, 'strategy: { type: canary, steps: [50, 100], pause: 1s, watch: 0s, analysis: { min_requests: 1000 } }', 'targets: { j: { type: judged } }'].join('\n'),
  );
  return loadManifest(join(dir, 'gantry.yaml'), { knownTargetTypes: judgedRegistry.types(), targetSchemas: (t) => judgedRegistry.configSchema(t), targetCapabilities: (t) => judgedRegistry.describe(t)?.capabilities });
}

describe('a runtime that judges its own canaries', () => {
  it('its pass promotes the canary although no request reached it', async () => {
    expect((await engine.deploy(load(), undefined)).status).toBe('succeeded');
    platform.verdict = 'pass';
    platform.asked = [];
    const r = await engine.deploy(load(), undefined);
    expect(r.status, JSON.stringify(r.error)).toBe('succeeded');
    expect(platform.asked.length).toBeGreaterThan(0);
    expect(platform.asked.every((a) => a.release === r.release && a.percent === 50)).toBe(true);
  }, 60_000);

  it('its fail rolls the canary back with its reason', async () => {
    platform.verdict = 'fail';
    const r = await engine.deploy(load(), undefined);
    expect(r.status).toBe('rolled_back');
    expect(r.error?.code).toBe('CANARY_FAILED');
    expect(r.error?.message).toContain('the platform says fail');
  }, 60_000);
});
