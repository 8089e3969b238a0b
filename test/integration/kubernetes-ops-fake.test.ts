/**
 * The kubernetes target's operations (status, logs, stop/start, restart,
 * scale, doctor) through the real CLI and @kubernetes/client-node, against a
 * FAKE API server (test/helpers/fake-kube-apiserver.ts): no real
 * kube-apiserver can run on these machines. The fake holds objects in memory
 * and answers only the REST paths these operations use; what it proves is
 * what Gantry asks of the API and what it makes of the answers, not how a
 * real cluster reacts (that is the GANTRY_TEST_KUBECONFIG tests' part).
 *
 * The deploy itself is helm's, which the fake cannot serve: the app is put in
 * the deployed state by the target's real build (chart written and kept) and
 * the engine's store, as a helm upgrade that succeeded would leave it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newInstanceId, newReleaseId } from '../../src/engine/release-id.js';
import { releaseManifest } from '../../src/engine/util.js';
import { loadManifest, type StoredManifest } from '../../src/manifest/index.js';
import { Store } from '../../src/store/index.js';
import type { KubernetesConfig } from '../../src/targets/kubernetes/config.js';
import { kubernetesTarget } from '../../src/targets/kubernetes/index.js';
import { gantry, spawnGantry } from '../helpers/cli.js';
import { FakeKubeApiServer } from '../helpers/fake-kube-apiserver.js';

const APP = 'k8s-fake-ops';
const NS = 'shop';

let fake: FakeKubeApiServer;
let dir: string;
const dirs: string[] = [];

/** An app whose manifest targets the fake cluster. */
function appDir(app: string, top = ''): string {
  const d = mkdtempSync(join(tmpdir(), 'gantry-k8s-fake-'));
  dirs.push(d);
  writeFileSync(join(d, 'kubeconfig'), fake.kubeconfig(NS));
  writeFileSync(
    join(d, 'gantry.yaml'),
    `app: ${app}
run: { port: 8080, instances: 2 }
health: { path: /healthz, interval: 1s }
strategy: { type: rolling }
${top}targets:
  k8s:
    type: kubernetes
    kubeconfig: ./kubeconfig
    namespace: ${NS}
    image: registry.example.com/shop:1.0
`,
  );
  return d;
}

/** The state a succeeded `helm upgrade --install` of one release leaves: its chart kept, the release current, 2 instances routed, the Deployment on the cluster. */
async function seedDeployed(d: string): Promise<string> {
  const loaded = loadManifest(join(d, 'gantry.yaml'));
  const app = loaded.manifest.app;
  const { type: _, ...raw } = loaded.manifest.targets.k8s as Record<string, unknown>;
  const config = kubernetesTarget.configSchema.parse(raw) as KubernetesConfig;
  const stateDir = join(d, '.gantry');
  const release = newReleaseId('fa4e0c0ffee0');
  const manifest = releaseManifest(loaded.manifest) as StoredManifest;
  const ctx = { app, targetName: 'k8s', config, appDir: d, stateDir, settings: {}, saveSettings: () => undefined, emit: () => undefined };
  const artifact = await kubernetesTarget.build({ releaseId: release, sourceDir: d, env: {}, manifest, run: loaded.manifest.run }, ctx);
  const store = new Store(join(stateDir, 'state.db'));
  try {
    store.insertRelease({ id: release, app, target: 'k8s', contentHash: 'fa4e0c0ffee0', artifact, manifest, status: 'built' } as Parameters<Store['insertRelease']>[0]);
    store.setReleaseStatus(app, 'k8s', release, 'active', true);
    store.ensureTarget(app, 'k8s', 'kubernetes');
    const routes = [0, 1].map((i) => ({ instance: newInstanceId(release, i), release, url: `http://${app}.${NS}.svc.cluster.local`, weight: 1 }));
    store.updateTarget(app, 'k8s', { currentRelease: release, desiredState: 'running', instances: 2, settings: { kubernetes: { stable: release, routes, revisions: { [release]: 1 } } } });
  } finally {
    store.close();
  }
  fake.addDeployment(app, { 'app.kubernetes.io/name': app, 'app.kubernetes.io/instance': app, 'gantry.dev/track': 'stable' }, 2);
  return release;
}

const replicas = () => fake.deployments.get(APP)!.spec.replicas as number;

beforeAll(async () => {
  fake = await new FakeKubeApiServer().start();
  fake.namespaces.add(NS);
  dir = appDir(APP);
  await seedDeployed(dir);
}, 60_000);

afterAll(async () => {
  await fake?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('kubernetes operations against a FAKE API server (no real kube-apiserver can run here)', () => {
  it('status lists the Deployment\'s pods with readiness and restarts, and a Warning event', async () => {
    const [first, second] = fake.podsOf(APP);
    first!.restarts = 3;
    second!.ready = false;
    second!.reason = 'CrashLoopBackOff';
    fake.events.push({ type: 'Normal', reason: 'ScalingReplicaSet', kind: 'Deployment', name: APP, message: 'Scaled up replica set to 2' });
    fake.events.push({ type: 'Warning', reason: 'BackOff', kind: 'Pod', name: second!.name, message: 'Back-off restarting failed container app', count: 4 });
    fake.events.push({ type: 'Warning', reason: 'FailedMount', kind: 'Pod', name: 'someone-else-7d9f', message: 'not this app' });
    const r = await gantry(['status', '--json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const t = r.json.targets[0];
    expect(t.platform.workloads).toEqual([
      {
        kind: 'Deployment',
        name: APP,
        track: 'stable',
        release: t.release,
        desired: 2,
        ready: 1,
        pods: expect.arrayContaining([
          { name: first!.name, ready: true, restarts: 3, phase: 'Running' },
          { name: second!.name, ready: false, restarts: 0, phase: 'Running', reason: 'CrashLoopBackOff' },
        ]),
      },
    ]);
    expect(t.platform.events.map((e: any) => [e.type, e.reason, e.object])).toEqual([
      ['Normal', 'ScalingReplicaSet', `deployment/${APP}`],
      ['Warning', 'BackOff', `pod/${second!.name}`],
    ]);
    // A pod not Ready: the engine's instances say so (the platform's verdict), the target is degraded.
    expect(t.state).toBe('degraded');
    const human = await gantry(['status'], { cwd: dir });
    expect(human.stdout).toContain(`Deployment ${APP} (stable, release ${t.release}): 1/2 ready`);
    expect(human.stdout).toMatch(new RegExp(`${first!.name}\\s+Running\\s+ready\\s+restarts 3`));
    expect(human.stdout).toContain(`Warning BackOff pod/${second!.name}: Back-off restarting failed container app (x4)`);
    // Warning events are listed before the others.
    expect(human.stdout.indexOf('Warning BackOff')).toBeLessThan(human.stdout.indexOf('Normal ScalingReplicaSet'));
    second!.ready = true;
    second!.reason = undefined;
  });

  it('logs print each pod\'s lines prefixed with the pod; -f gets a line written after it started', async () => {
    const pods = fake.podsOf(APP);
    for (const p of pods) for (const n of [1, 2, 3]) fake.appendLog(p.name, `${p.name} says ${n}`);
    const r = await gantry(['logs', '-n', '2'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.sort()).toEqual(pods.flatMap((p) => [`${p.name} ${p.name} says 2`, `${p.name} ${p.name} says 3`]).sort());
    // The Log API was asked for container `app`, 2 lines, per pod.
    expect(fake.requests.filter((q) => q.path.endsWith('/log')).map((q) => q.path).sort()).toEqual(pods.map((p) => `/api/v1/namespaces/${NS}/pods/${p.name}/log`).sort());

    const f = spawnGantry(['logs', '-f', '-n', '1'], { cwd: dir, timeoutMs: 60_000 });
    let out = '';
    f.child.stdout!.on('data', (d) => (out += d));
    const target = pods[0]!.name;
    for (let i = 0; i < 200 && fake.followerCount(target) === 0; i++) await new Promise((res) => setTimeout(res, 50));
    expect(fake.followerCount(target)).toBe(1);
    fake.appendLog(target, 'written while following');
    for (let i = 0; i < 200 && !out.includes('written while following'); i++) await new Promise((res) => setTimeout(res, 50));
    f.child.kill('SIGINT');
    await f.done;
    expect(out).toContain(`${target} written while following`);
  });

  it('scale changes the Deployment\'s replicas up and down (a merge patch), no helm run', async () => {
    const up = await gantry(['scale', '3', '--json'], { cwd: dir });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(replicas()).toBe(3);
    expect(fake.podsOf(APP)).toHaveLength(3);
    const down = await gantry(['scale', '1', '--json'], { cwd: dir });
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(replicas()).toBe(1);
    const patches = fake.requests.filter((q) => q.method === 'PATCH' && q.path.endsWith(`/deployments/${APP}`));
    expect(patches.map((q) => [q.contentType, q.body])).toEqual([
      ['application/merge-patch+json', { spec: { replicas: 3 } }],
      ['application/merge-patch+json', { spec: { replicas: 1 } }],
    ]);
    // helm's first move is API discovery: none happened.
    expect(fake.requests.some((q) => q.path === '/api' || q.path === '/apis')).toBe(false);
    const back = await gantry(['scale', '2', '--json'], { cwd: dir });
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(replicas()).toBe(2);
  });

  it('stop scales to 0 and start brings back the count it had (formation kept)', async () => {
    // Say the autoscaler or an operator had it at 4 when it was stopped.
    const patched = await gantry(['scale', '4', '--json'], { cwd: dir });
    expect(patched.code, patched.stdout + patched.stderr).toBe(0);
    const stop = await gantry(['stop', '--json'], { cwd: dir });
    expect(stop.code, stop.stdout + stop.stderr).toBe(0);
    expect(replicas()).toBe(0);
    expect(fake.podsOf(APP)).toHaveLength(0);
    expect((await gantry(['status', '--json'], { cwd: dir })).json.targets[0].state).toBe('stopped');
    const start = await gantry(['start', '--json'], { cwd: dir });
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect(start.json.status).toBe('succeeded');
    expect(replicas()).toBe(4);
    expect(fake.podsOf(APP)).toHaveLength(4);
    const st = await gantry(['status', '--json'], { cwd: dir });
    expect(st.json.targets[0].state).toBe('running');
  });

  it('restart sets the rollout-restart annotation: the pods are replaced, the count stays', async () => {
    const before = fake.podsOf(APP).map((p) => p.name);
    const r = await gantry(['restart', '--json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.status).toBe('succeeded');
    const d = fake.deployments.get(APP)!;
    expect(Date.parse(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt'])).toBeGreaterThan(Date.now() - 120_000);
    const after = fake.podsOf(APP).map((p) => p.name);
    expect(after).toHaveLength(before.length);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
  });

  it('scale under an autoscaler raises its minReplicas (and the pods to it); above its max is refused with a hint', async () => {
    const hpaApp = 'k8s-fake-hpa';
    const d = appDir(hpaApp, 'autoscale: { min: 2, max: 5, cpu_percent: 70 }\n');
    await seedDeployed(d);
    fake.autoscalers.set(hpaApp, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: hpaApp, namespace: NS }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: hpaApp }, minReplicas: 2, maxReplicas: 5 } });
    const up = await gantry(['scale', '4', '--json'], { cwd: d });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(fake.autoscalers.get(hpaApp)!.spec).toMatchObject({ minReplicas: 4, maxReplicas: 5 });
    expect(fake.deployments.get(hpaApp)!.spec.replicas).toBe(4);
    const over = await gantry(['scale', '6', '--json'], { cwd: d });
    expect(over.code).not.toBe(0);
    expect(over.json.error?.message ?? over.json.reason).toContain('allows at most 5 pods');
    expect(JSON.stringify(over.json)).toContain('autoscale.max');
    expect(fake.autoscalers.get(hpaApp)!.spec.minReplicas).toBe(4);
    expect(fake.deployments.get(hpaApp)!.spec.replicas).toBe(4);
  });

  it('doctor: cluster, namespace, and a permission the SelfSubjectAccessReview denies, with a hint', async () => {
    fake.denied.add('create secrets');
    fake.denied.add('get pods/log');
    try {
      const r = await gantry(['doctor', '--json'], { cwd: dir });
      const checks: Array<{ name: string; ok: boolean; detail: string; hint?: string }> = r.json.checks ?? r.json;
      const byName = (n: string) => checks.find((c) => c.name === n);
      expect(byName('k8s: cluster')).toMatchObject({ ok: true, detail: `Kubernetes v1.31.0-fake at ${fake.url}` });
      expect(byName('k8s: namespace')).toMatchObject({ ok: true, detail: `${NS} exists` });
      const perms = byName('k8s: permissions')!;
      expect(perms.ok).toBe(false);
      expect(perms.detail).toBe(`not allowed in ${NS}: create secrets, get pods/log`);
      expect(perms.hint).toContain('rolebinding');
      const reviews = fake.requests.filter((q) => q.path === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
      expect(reviews.map((q: any) => q.body.spec.resourceAttributes)).toContainEqual({ namespace: NS, verb: 'create', resource: 'deployments', group: 'apps' });
    } finally {
      fake.denied.clear();
    }
  });
});
