/**
 * Issue 16 point 7, operations on all hosts or `--host`, on any many-node
 * target (the engine never knows what a node is). Real parts: three local
 * "nodes" (test/helpers/local-fleet.ts: each the process target with its own
 * agent, proxy and processes), driven in-process because the fleet is
 * registered only in tests; the CLI's side of --host is checked on the
 * process target at the end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, type LogLine } from '../../dist/engine/index.js';
import { loadManifest } from '../../dist/manifest/index.js';
import { Store } from '../../dist/store/index.js';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { fleetRegistry } from '../helpers/local-fleet.js';

const NODES = ['n1', 'n2', 'n3'];
const APP = `hosts-${process.pid}`;
const dir = copyExample('hello-node');
const store = new Store(join(dir, '.gantry', 'state.db'));
const engine = new Engine({ store, registry: fleetRegistry, stateDir: join(dir, '.gantry'), actor: 'test' });
let version = 0;

function write(): void {
  version++;
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 200ms, timeout: 2s, retries: 2, start_period: 5s }', `env: { GREETING: "v${version}" }`, 'strategy: { type: rolling, watch: 0s, batch: 1 }', `targets: { fleet: { type: local-fleet, nodes: [${NODES.join(', ')}] } }`].join('\n'),
  );
}

const load = () => loadManifest(join(dir, 'gantry.yaml'), { knownTargetTypes: fleetRegistry.types(), targetSchemas: (t) => fleetRegistry.configSchema(t), targetCapabilities: (t) => fleetRegistry.describe(t)?.capabilities });

/** What each node's own proxy answers: the release it serves, or "down" when nothing listens. */
async function servedByNode(): Promise<Record<string, string>> {
  const t = store.getTarget(APP, 'fleet')!;
  const out: Record<string, string> = {};
  for (const n of NODES) {
    const port = (t.settings[`node:${n}`] as { proxyPort: number }).proxyPort;
    out[n] = await get(`http://127.0.0.1:${port}/`, 3000).then((r) => (r.status === 200 ? JSON.parse(r.body).release : `status ${r.status}`), () => 'down');
  }
  return out;
}

/** Instance id and pid on each node, from status. */
async function instancesByNode(): Promise<Record<string, Array<{ id: string; pid?: number }>>> {
  const t = (await engine.status(load(), 'fleet')).targets[0]!;
  return Object.fromEntries(NODES.map((n) => [n, t.instances.filter((i) => i.node === n).map((i) => ({ id: i.id, pid: i.pid }))]));
}

async function collect(it: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const out: LogLine[] = [];
  for await (const l of it) out.push(l);
  return out;
}

let release = '';

beforeAll(async () => {
  write();
  const r = await engine.deploy(load(), undefined);
  expect(r.status, r.reason).toBe('succeeded');
  release = r.release!;
}, 120_000);

afterAll(async () => {
  await engine.stop(load(), undefined).catch(() => undefined);
  store.close();
  killAgents(dir);
});

describe('operations on all hosts or --host (many-node targets)', () => {
  it('an unknown host is bad usage naming the known ones, on every command that takes --host; rollback and scale refuse --host and say why', async () => {
    for (const call of [
      () => engine.status(load(), undefined, { hosts: ['n9'] }),
      () => collect(engine.logs(load(), undefined, { lines: 5, follow: false, hosts: ['n1', 'n9'] })),
      () => engine.restart(load(), undefined, { hosts: ['n9'] }),
      () => engine.stop(load(), undefined, { hosts: ['n9'] }),
      () => engine.start(load(), undefined, { hosts: ['n9'] }),
    ]) {
      const err = await call().then(() => undefined, (e: unknown) => e as { code: string; message: string; hint: string; exitCode: number });
      expect(err?.code).toBe('USAGE');
      expect(err?.exitCode).toBe(2);
      expect(err?.message).toMatch(/unknown host "n9" for target fleet/);
      expect(err?.hint).toBe('known hosts: n1, n2, n3');
    }
    await expect(engine.scale(load(), undefined, 2, { hosts: ['n1'] })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/scale does not take --host: the instance count is desired state of the whole fleet/), hint: expect.stringMatching(/gantry stop --host/) });
    await expect(engine.rollback(load(), undefined, undefined, { hosts: ['n1'] })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringMatching(/rollback does not take --host/) });
    // Nothing changed on any node.
    expect(Object.values(await servedByNode())).toEqual([release, release, release]);
  });

  it('status: every instance names its node, a state per node; --host shows only that node', async () => {
    const all = (await engine.status(load(), undefined)).targets[0]!;
    expect(all.state).toBe('running');
    expect(all.nodes).toEqual(NODES.map((node) => ({ node, state: 'running', held: false, instances: 1, serving: 1 })));
    expect(all.instances.map((i) => i.node).sort()).toEqual(NODES);
    const one = (await engine.status(load(), undefined, { hosts: ['n2'] })).targets[0]!;
    expect(one.nodes).toEqual([{ node: 'n2', state: 'running', held: false, instances: 1, serving: 1 }]);
    expect(one.instances.map((i) => i.node)).toEqual(['n2']);
  });

  it('logs: every line carries its node and its time, in time order across nodes; --host only that node', async () => {
    const lines = await collect(engine.logs(load(), undefined, { lines: 20, follow: false }));
    expect(new Set(lines.map((l) => l.node))).toEqual(new Set(NODES));
    expect(lines.every((l) => typeof l.at === 'string' && !Number.isNaN(Date.parse(l.at!)))).toBe(true);
    expect(lines.map((l) => l.at)).toEqual([...lines.map((l) => l.at)].sort());
    expect(lines.filter((l) => l.text.includes('listening on')).map((l) => l.node).sort()).toEqual(NODES);
    const n3 = await collect(engine.logs(load(), undefined, { lines: 20, follow: false, hosts: ['n3'] }));
    expect(n3.length).toBeGreaterThan(0);
    expect(new Set(n3.map((l) => l.node))).toEqual(new Set(['n3']));
  });

  it('logs -f follows every node at once (lines merged as they come); aborting ends every follower and the stream', async () => {
    const ac = new AbortController();
    const seen: LogLine[] = [];
    const following = (async () => {
      for await (const l of engine.logs(load(), undefined, { lines: 0, follow: true, signal: ac.signal })) seen.push(l);
    })();
    await new Promise((r) => setTimeout(r, 500));
    // A restart of the whole fleet starts a fresh instance on each node: each prints its first line.
    const r = await engine.restart(load(), undefined);
    expect(r.status, r.reason).toBe('succeeded');
    for (let i = 0; i < 50 && new Set(seen.filter((l) => l.text.includes('listening on')).map((l) => l.node)).size < 3; i++) await new Promise((res) => setTimeout(res, 200));
    expect(new Set(seen.filter((l) => l.text.includes('listening on')).map((l) => l.node))).toEqual(new Set(NODES));
    const abortedAt = Date.now();
    ac.abort();
    await following;
    expect(Date.now() - abortedAt).toBeLessThan(2000);
  }, 60_000);

  it('restart --host n2: a rolling restart of n2 only, in its own batch; the instances on n1 and n3 keep their ids and pids', async () => {
    const before = await instancesByNode();
    const r = await engine.restart(load(), undefined, { hosts: ['n2'] });
    expect(r.status, r.reason).toBe('succeeded');
    expect(r.nodes).toEqual([expect.objectContaining({ node: 'n2', batch: 0, status: 'succeeded' })]);
    const steps = store.listSteps(r.id).map((s) => s.params as { kind: string; nodes?: string[]; node?: string });
    expect(steps.filter((s) => s.kind === 'batch').map((s) => s.nodes)).toEqual([['n2']]);
    expect(new Set(steps.filter((s) => s.node).map((s) => s.node))).toEqual(new Set(['n2']));
    const after = await instancesByNode();
    expect(after.n1).toEqual(before.n1);
    expect(after.n3).toEqual(before.n3);
    expect(after.n2).toHaveLength(1);
    expect(after.n2![0]!.id).not.toBe(before.n2![0]!.id);
    expect(after.n2![0]!.pid).not.toBe(before.n2![0]!.pid);
  }, 60_000);

  it('stop --host n2 holds it stopped: status says so, and neither a deploy (heal) nor a new release nor a restart brings it back', async () => {
    const r = await engine.stop(load(), undefined, { hosts: ['n2'] });
    expect(r.status, r.reason).toBe('succeeded');
    expect(r.nodes).toEqual([expect.objectContaining({ node: 'n2', status: 'succeeded' })]);
    expect(await servedByNode()).toEqual({ n1: release, n2: 'down', n3: release });
    const st = (await engine.status(load(), undefined)).targets[0]!;
    expect(st.state).toBe('running');
    expect(st.nodes!.find((n) => n.node === 'n2')).toEqual({ node: 'n2', state: 'stopped', held: true, instances: 0, serving: 0 });
    // Unchanged: nothing to deploy (a heal would have started n2 again).
    expect((await engine.deploy(load(), undefined)).unchanged).toBe(true);
    await expect(engine.restart(load(), undefined, { hosts: ['n2'] })).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/gantry start --host n2/) });
    // A new release goes to n1 and n3 only.
    write();
    const d = await engine.deploy(load(), undefined);
    expect(d.status, d.reason).toBe('succeeded');
    expect(d.nodes!.map((n) => n.node)).toEqual(['n1', 'n3']);
    const restarted = await engine.restart(load(), undefined);
    expect(restarted.status, restarted.reason).toBe('succeeded');
    expect(await servedByNode()).toEqual({ n1: d.release, n2: 'down', n3: d.release });
    expect((await instancesByNode()).n2).toEqual([]);
    release = d.release!;
  }, 120_000);

  it('start --host n2 starts the current release there and releases it; a deploy then covers every node again', async () => {
    const r = await engine.start(load(), undefined, { hosts: ['n2'] });
    expect(r.status, r.reason).toBe('succeeded');
    expect(r.nodes).toEqual([expect.objectContaining({ node: 'n2', status: 'succeeded' })]);
    expect(await servedByNode()).toEqual({ n1: release, n2: release, n3: release });
    const st = (await engine.status(load(), undefined)).targets[0]!;
    expect(st.state).toBe('running');
    expect(st.nodes!.every((n) => n.state === 'running' && !n.held)).toBe(true);
    expect(store.getTarget(APP, 'fleet')!.heldNodes).toEqual([]);
    write();
    const plan = await engine.plan(load(), undefined);
    expect(plan.new_release).toBe(true);
    expect(plan.steps.filter((s) => s.kind === 'batch').map((s: any) => s.nodes)).toEqual([['n1'], ['n2'], ['n3']]);
  }, 60_000);

  it('after a plain stop, start --host n1 starts n1 only and holds the others; a plain start starts every node and holds none', async () => {
    expect((await engine.stop(load(), undefined)).status).toBe('succeeded');
    expect((await engine.status(load(), undefined)).targets[0]!.state).toBe('stopped');
    const r = await engine.start(load(), undefined, { hosts: ['n1'] });
    expect(r.status, r.reason).toBe('succeeded');
    expect(await servedByNode()).toEqual({ n1: release, n2: 'down', n3: 'down' });
    expect(store.getTarget(APP, 'fleet')!.heldNodes).toEqual(['n2', 'n3']);
    expect((await engine.status(load(), undefined)).targets[0]!.state).toBe('running');
    const all = await engine.start(load(), undefined);
    expect(all.status, all.reason).toBe('succeeded');
    expect(await servedByNode()).toEqual({ n1: release, n2: release, n3: release });
    expect(store.getTarget(APP, 'fleet')!.heldNodes).toEqual([]);
  }, 60_000);
});

describe('the CLI side of --host (process target: one place)', () => {
  const one = copyExample('hello-node');

  it('--host on a one-place target is bad usage; scale and rollback document why they refuse --host; restart, stop and start document it', async () => {
    const st = await gantry(['status', '--host', 'web1', '--json'], { cwd: one });
    expect(st.code).toBe(2);
    expect(st.json.error.message).toMatch(/runs in one place: --host is for targets with many nodes/);
    const sc = await gantry(['scale', '2', '--host', 'web1,web2'], { cwd: one });
    expect(sc.code).toBe(2);
    expect(sc.stderr).toMatch(/scale does not take --host/);
    for (const [cmd, text] of [['scale', /fleet-wide by design and refuses --host/], ['rollback', /fleet-wide by design and refuses --host/], ['stop', /records them as held/], ['start', /releases them/], ['restart', /restarts only those hosts/], ['logs', /--host <name>/]] as const) {
      const h = await gantry([cmd, '--help'], { cwd: one });
      expect(h.stdout.replace(/\s+/g, ' ')).toMatch(text);
    }
  }, 60_000);
});
