/**
 * Issue 15 point 2: a many-node target hands the engine its nodes; the engine
 * runs each node's part of the plan in batches (batch as count or percent,
 * parallel, max_failed), each node within its own node_timeout, goes back per
 * policy and reports per node. The nodes are real (test/helpers/local-fleet.ts:
 * each is the process target with its own agent, proxy and processes); the
 * engine is driven in-process because the fleet is registered only here.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../dist/engine/index.js';
import { loadManifest } from '../../dist/manifest/index.js';
import { Store } from '../../dist/store/index.js';
import { copyExample, killAgents } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { faults, fleetRegistry } from '../helpers/local-fleet.js';

const NODES = ['n1', 'n2', 'n3'];
const dir = copyExample('hello-node');
const store = new Store(join(dir, '.gantry', 'state.db'));
const engine = new Engine({ store, registry: fleetRegistry, stateDir: join(dir, '.gantry'), actor: 'test' });
let version = 0;

afterAll(async () => {
  faults.hang.clear();
  faults.unhealthy.clear();
  await engine.stop(load(''), undefined).catch(() => undefined);
  store.close();
  killAgents(dir);
});

beforeEach(() => {
  faults.hang.clear();
  faults.unhealthy.clear();
});

function load(strategy: string) {
  if (strategy) {
    version++;
    writeFileSync(
      join(dir, 'gantry.yaml'),
      [`app: fleet-${process.pid}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms, timeout: 2s, retries: 2, start_period: 5s }', `env: { GREETING: "v${version}" }`, `strategy: { type: rolling, watch: 0s, ${strategy} }`, `targets: { fleet: { type: local-fleet, nodes: [${NODES.join(', ')}] } }`].join('\n'),
    );
  }
  return loadManifest(join(dir, 'gantry.yaml'), { knownTargetTypes: fleetRegistry.types(), targetSchemas: (t) => fleetRegistry.configSchema(t), targetCapabilities: (t) => fleetRegistry.describe(t)?.capabilities });
}

/** What each node's own proxy serves now. */
async function servedByNode(): Promise<string[]> {
  const t = store.getTarget(`fleet-${process.pid}`, 'fleet')!;
  const ports = NODES.map((n) => (t.settings[`node:${n}`] as { proxyPort: number }).proxyPort);
  return Promise.all(ports.map(async (p) => (await getJson(`http://127.0.0.1:${p}/`)).release));
}

describe('many-node targets: batches, max_failed, node_timeout, per-node report', () => {
  let first = '';

  it('a first deploy to 3 nodes, one node per batch: every node serves the release, the report names each node and its batch', async () => {
    const plan = await engine.plan(load('batch: 1'), undefined);
    expect(plan.steps.filter((s) => s.kind === 'batch').map((s: any) => s.nodes)).toEqual([['n1'], ['n2'], ['n3']]);
    expect(plan.steps.filter((s) => s.kind === 'startInstance').map((s: any) => s.node)).toEqual(NODES);
    const r = await engine.deploy(load(''), undefined);
    expect(r.status, r.reason).toBe('succeeded');
    expect(r.nodes).toEqual(NODES.map((node, batch) => expect.objectContaining({ node, batch, status: 'succeeded' })));
    expect(await servedByNode()).toEqual([r.release, r.release, r.release]);
    first = r.release!;
  });

  it('batch as a percent, and a node that fails with max_failed 0: the rollout stops, every node goes back, later nodes never start', async () => {
    faults.unhealthy.add('n1');
    const plan = await engine.plan(load('batch: "34%"'), undefined);
    expect(plan.steps.filter((s) => s.kind === 'batch').map((s: any) => s.nodes)).toEqual([['n1', 'n2'], ['n3']]);
    const r = await engine.deploy(load(''), undefined);
    expect(r.status).toBe('rolled_back');
    expect(r.reason).toMatch(/node\(s\) failed, more than strategy.max_failed \(0\)/);
    // n1 failed (and was put back), n2 of the same batch went back with the fleet, n3's batch never began.
    expect(r.nodes!.map((n) => [n.node, n.status])).toEqual([['n1', 'rolled_back'], ['n2', 'rolled_back'], ['n3', 'not_started']]);
    expect(r.nodes![0]!.error).toMatch(/did not become healthy/);
    expect(await servedByNode()).toEqual([first, first, first]);
  });

  it('max_failed 1: the failed node is put back on its own and the rollout goes on; the others serve the new release', async () => {
    faults.unhealthy.add('n2');
    const r = await engine.deploy(load('batch: 1, max_failed: 1'), undefined);
    expect(r.status, r.reason).toBe('succeeded');
    expect(r.nodes!.map((n) => [n.node, n.status])).toEqual([['n1', 'succeeded'], ['n2', 'rolled_back'], ['n3', 'succeeded']]);
    expect(await servedByNode()).toEqual([r.release, first, r.release]);
    first = r.release!;
  });

  it('status counts every node (degraded while n2 runs the previous release); deploy heals n2; then nothing to deploy; scale 2 runs 2 on each node, node by node', async () => {
    expect((await engine.status(load(''), undefined)).targets[0]!.state).toBe('degraded');
    const healed = await engine.deploy(load(''), undefined);
    expect(healed.status, healed.reason).toBe('succeeded');
    expect(healed.reason).toMatch(/healed/);
    expect(await servedByNode()).toEqual([first, first, first]);
    const st = (await engine.status(load(''), undefined)).targets[0]!;
    expect(st.state).toBe('running');
    expect(st.instances.map((i) => i.node).sort()).toEqual(NODES);
    expect((await engine.deploy(load(''), undefined)).unchanged).toBe(true);
    const r = await engine.scale(load(''), undefined, 2);
    expect(r.status, r.reason).toBe('succeeded');
    expect(r.nodes!.map((n) => [n.node, n.batch, n.status])).toEqual([['n1', 0, 'succeeded'], ['n2', 1, 'succeeded'], ['n3', 2, 'succeeded']]);
    const after = (await engine.status(load(''), undefined)).targets[0]!;
    expect(after.state).toBe('running');
    for (const node of NODES) expect(after.instances.filter((i) => i.node === node && i.healthy && i.routed)).toHaveLength(2);
    expect((await engine.scale(load(''), undefined, 1)).status).toBe('succeeded');
  });

  it('a node that hangs past node_timeout counts as failed and does not stall its batch', async () => {
    faults.hang.add('n3');
    const r = await engine.deploy(load('batch: 3, max_failed: 1, node_timeout: 3s'), undefined);
    expect(r.status, r.reason).toBe('succeeded');
    const n3 = r.nodes!.find((n) => n.node === 'n3')!;
    expect(n3.status).toBe('timed_out');
    expect(n3.error).toMatch(/node_timeout/);
    const served = await servedByNode();
    expect(served.slice(0, 2)).toEqual([r.release, r.release]);
  });
});
