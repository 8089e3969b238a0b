import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateManifestSource } from '../../src/manifest/index.js';
import { registry } from '../../src/registry/index.js';

const ROOT = join(import.meta.dirname, '../..');

// A target type that only the validator sees: traffic split by nobody (like edge devices), so no canary.
const pullOnly = { nodes: 'many', traffic: 'none', strategies: ['rolling'] };
const capabilitiesOf = (type: string) => (type === 'devices' ? pullOnly : registry.describe(type)?.capabilities);

const manifest = (strategy: string | undefined) => `app: caps
run: { command: "node server.js", port: 3000 }
${strategy ? `strategy: { type: ${strategy} }\n` : ''}targets:
  local: { type: process }
  sensors: { type: devices }
`;

describe('capabilities: declared by every target, read by the validator', () => {
  it('every registered target declares nodes, traffic, health, delivery and strategies', () => {
    for (const type of registry.types()) {
      const d = registry.describe(type)!;
      expect(d.type).toBe(type);
      expect(['one', 'many']).toContain(d.capabilities.nodes);
      expect(['instance', 'release', 'none']).toContain(d.capabilities.traffic);
      expect(['engine', 'target']).toContain(d.capabilities.health);
      expect(['push', 'pull']).toContain(d.capabilities.delivery);
      expect(d.capabilities.strategies.length).toBeGreaterThan(0);
    }
  });

  it('a strategy a target cannot run is a manifest error naming the target and what it can do', () => {
    const r = validateManifestSource(manifest('canary'), '/tmp/caps/gantry.yaml', { knownTargetTypes: [...registry.types(), 'devices'], targetCapabilities: capabilitiesOf });
    expect(r.valid).toBe(false);
    expect(r.problems).toHaveLength(1);
    const p = r.problems[0]!;
    expect(p.path).toBe('strategy.type');
    expect(p.line).toBe(3);
    expect(p.message).toContain('target "sensors" (type devices) cannot run the canary strategy');
    expect(p.hint).toContain('rolling');
  });

  it('the default strategy is checked too, pointing at the target', () => {
    const ok = validateManifestSource(manifest(undefined), '/tmp/caps/gantry.yaml', { knownTargetTypes: [...registry.types(), 'devices'], targetCapabilities: capabilitiesOf });
    expect(ok.valid).toBe(true);
    const bad = validateManifestSource(manifest(undefined), '/tmp/caps/gantry.yaml', { knownTargetTypes: [...registry.types(), 'devices'], targetCapabilities: () => ({ nodes: 'one', traffic: 'release', strategies: ['blue-green'] }) });
    expect(bad.problems.map((p) => p.path)).toEqual(['targets.local.type', 'targets.sensors.type']);
  });

  it('the engine never names a target type', () => {
    const dir = join(ROOT, 'src/engine');
    const types = registry.types();
    for (const f of readdirSync(dir, { recursive: true }) as string[]) {
      if (!f.endsWith('.ts')) continue;
      const text = readFileSync(join(dir, f), 'utf8');
      for (const t of types) expect(text.includes(`'${t}'`) || text.includes(`"${t}"`), `${f} names the ${t} target`).toBe(false);
    }
  });
});
