/**
 * The kubernetes target through the real CLI. No Kubernetes API server can run
 * here: plan, validate, doctor and a deploy against a cluster that does not
 * answer run everywhere; the live scenarios need GANTRY_TEST_KUBECONFIG (a kind
 * or k3s cluster, see the README) and are skipped by name otherwise.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { schemaProblems } from '../../src/targets/kubernetes/schema-check.js';
import { findTool } from '../../src/targets/kubernetes/tools.js';
import { gantry, setSecret } from '../helpers/cli.js';

const CANARY = 'k8s-secret-canary-7f3e9a';
const UNREACHABLE_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: not-a-real-token } }]
contexts: [{ name: nowhere, context: { cluster: c, user: u } }]
current-context: nowhere
`;
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function app(target: string, top = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-k8s-cli-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'kubeconfig'), UNREACHABLE_KUBECONFIG);
  writeFileSync(
    join(dir, 'gantry.yaml'),
    `app: k8s-cli-shop
run: { port: 8080, instances: 3 }
health: { path: /healthz, interval: 5s }
secrets: [DB_PASSWORD]
strategy: { type: canary, steps: [25, 100] }
${top}targets:
  k8s:
    type: kubernetes
    kubeconfig: ./kubeconfig
    namespace: shop
    image: registry.example.com/shop:1.0
    ingress: { host: shop.example.com, tls_secret: shop-tls }
${target}`,
  );
  return dir;
}

describe('kubernetes target through the CLI, without a cluster', () => {
  it('`gantry plan --target k8s --json` prints the rendered objects, valid, with the Secret redacted', async () => {
    const dir = app('    resources: { cpu: 250m, memory: 256Mi }\n');
    expect((await setSecret(dir, 'DB_PASSWORD', CANARY)).code).toBe(0);
    const r = await gantry(['plan', '--target', 'k8s', '--json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(CANARY);
    const b = r.json.build;
    expect(b).toMatchObject({ helm_release: 'k8s-cli-shop', namespace: 'shop', image: 'registry.example.com/shop:1.0', chart: join(dir, '.gantry', 'charts', 'k8s-cli-shop') });
    const kinds = b.objects.map((o: any) => `${o.kind}/${o.metadata.name}`);
    expect(kinds).toEqual(['Secret/k8s-cli-shop-secrets', 'ServiceAccount/k8s-cli-shop', 'ConfigMap/k8s-cli-shop-env', 'Deployment/k8s-cli-shop', 'Deployment/k8s-cli-shop-canary', 'Service/k8s-cli-shop', 'Ingress/k8s-cli-shop', 'PodDisruptionBudget/k8s-cli-shop']);
    expect(b.objects[0].stringData).toEqual({ DB_PASSWORD: '[redacted]' });
    expect(await schemaProblems(b.objects)).toEqual([]);
    const dep = b.objects[3];
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.template.spec.containers[0]).toMatchObject({ image: 'registry.example.com/shop:1.0', resources: { requests: { cpu: '250m', memory: '256Mi' } }, readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 5 } });
    expect(b.objects[6].spec.rules[0].host).toBe('shop.example.com');
    expect(r.json.url).toBe('https://shop.example.com');
    // plan has no side effect: no chart written yet.
    expect(existsSync(join(dir, '.gantry', 'charts'))).toBe(false);
  });

  it('`gantry validate` names bad names, quantities and kubeconfigs at their line, before anything is applied', async () => {
    const dir = app('    quota: { cpu: four }\n    storage: { class: Fast_SSD }\n');
    writeFileSync(join(dir, 'kubeconfig'), 'clusters: [\n');
    const r = await gantry(['validate', '--json'], { cwd: dir });
    expect(r.code).toBe(2);
    const problems = r.json.problems ?? r.json.error?.problems;
    expect(problems.map((p: any) => [p.path, p.line])).toEqual([
      ['targets.k8s.quota.cpu', 13],
      ['targets.k8s.storage.class', 14],
    ]);
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace(/ {4}quota.*\n {4}storage.*\n/, ''));
    const k = await gantry(['validate', '--json'], { cwd: dir });
    expect(k.code).toBe(2);
    expect(JSON.stringify(k.json)).toMatch(/kubeconfig .*kubeconfig does not parse: it is not YAML/);
  });

  it('`gantry doctor` finds helm and kubectl and names the cluster that does not answer, with a hint', async () => {
    const dir = app('');
    const r = await gantry(['doctor', '--json'], { cwd: dir });
    const checks: Array<{ name: string; ok: boolean; detail: string; hint?: string }> = r.json.checks ?? r.json;
    const byName = (n: string) => checks.find((c) => c.name === n);
    const helm = await findTool('helm');
    expect(byName('helm')?.ok).toBe(Boolean(helm));
    expect(byName('k8s: kubeconfig')).toMatchObject({ ok: true, detail: 'context nowhere → https://127.0.0.1:1' });
    if (await findTool('kubectl')) {
      expect(byName('k8s: cluster')).toMatchObject({ ok: false, detail: expect.stringContaining('https://127.0.0.1:1 does not answer') });
      expect(byName('k8s: cluster')!.hint).toContain('kind and k3s');
    }
  });

  it('a deploy to a cluster that does not answer fails before anything is applied; the chart on disk holds no secret', async () => {
    const dir = app('');
    expect((await setSecret(dir, 'DB_PASSWORD', CANARY)).code).toBe(0);
    const r = await gantry(['deploy', '--target', 'k8s', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(CANARY);
    const err = r.json.error;
    expect(err.code).toBe('TARGET_UNAVAILABLE');
    expect(err.message).toMatch(/the Kubernetes API at https:\/\/127\.0\.0\.1:1 does not answer|helm was not found|kubectl was not found/);
    const chart = join(dir, '.gantry', 'charts', 'k8s-cli-shop');
    expect(existsSync(join(chart, 'Chart.yaml'))).toBe(true);
    const files = readdirSync(chart, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const f of files) expect(readFileSync(join(f.parentPath, f.name), 'utf8')).not.toContain(CANARY);
    const st = await gantry(['status', '--json'], { cwd: dir });
    expect(st.stdout).not.toContain(CANARY);
  });
});

describe('kubernetes target: hooks', () => {
  it('become Helm hook Jobs in the plan (the hook one argv argument); a deploy is not refused for them', async () => {
    const dir = app('', 'hooks: { pre_deploy: "npm run migrate", post_deploy: "echo done" }\n');
    expect((await setSecret(dir, 'DB_PASSWORD', CANARY)).code).toBe(0);
    const p = await gantry(['plan', '--target', 'k8s', '--json'], { cwd: dir });
    expect(p.code, p.stdout + p.stderr).toBe(0);
    const jobs = p.json.build.objects.filter((o: any) => o.kind === 'Job');
    expect(jobs.map((j: any) => [j.metadata.name, j.metadata.annotations['helm.sh/hook'], j.spec.template.spec.containers[0].args.at(-1)])).toEqual([
      ['k8s-cli-shop-pre-deploy', 'pre-install,pre-upgrade', 'npm run migrate'],
      ['k8s-cli-shop-post-deploy', 'post-install,post-upgrade', 'echo done'],
    ]);
    const r = await gantry(['deploy', '--target', 'k8s', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).not.toContain(CANARY);
    expect(r.json.error.code).toBe('TARGET_UNAVAILABLE');
  });
});

const kc = process.env.GANTRY_TEST_KUBECONFIG;
const LIVE_SKIP = ' (skipped: no GANTRY_TEST_KUBECONFIG: no Kubernetes API server can run here)';

describe('kubernetes target on a live cluster', () => {
  const image = process.env.GANTRY_TEST_K8S_IMAGE ?? 'nginxinc/nginx-unprivileged:alpine';
  const liveApp = () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-k8s-live-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'gantry.yaml'), `app: k8s-live\nrun: { port: 8080, instances: 2 }\nhealth: { path: / }\nstrategy: { type: rolling }\ntargets:\n  k8s: { type: kubernetes, kubeconfig: "${kc}", namespace: gantry-live, image: "${image}" }\n`);
    return dir;
  };

  it.skipIf(!kc)(`live install, status, logs, restart, stop/start, rollback${kc ? '' : LIVE_SKIP}`, { timeout: 600_000 }, async () => {
    const dir = liveApp();
    const d = await gantry(['deploy', '--json'], { cwd: dir, timeoutMs: 400_000 });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const st = await gantry(['status', '--json'], { cwd: dir });
    expect(st.json.targets[0].instances.length).toBeGreaterThan(0);
    const logs = await gantry(['logs', '-n', '20'], { cwd: dir });
    expect(logs.code).toBe(0);
    expect((await gantry(['restart'], { cwd: dir, timeoutMs: 400_000 })).code).toBe(0);
    expect((await gantry(['stop'], { cwd: dir })).code).toBe(0);
    expect((await gantry(['start'], { cwd: dir, timeoutMs: 400_000 })).code).toBe(0);
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace('instances: 2', 'instances: 3'));
    expect((await gantry(['deploy'], { cwd: dir, timeoutMs: 400_000 })).code).toBe(0);
    expect((await gantry(['rollback'], { cwd: dir, timeoutMs: 400_000 })).code).toBe(0);
  });

  it.skipIf(!kc)(`live abort of a canary${kc ? '' : LIVE_SKIP}`, { timeout: 600_000 }, async () => {
    const dir = liveApp();
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace('type: rolling', 'type: canary, steps: [50, 100], pause: manual'));
    expect((await gantry(['deploy'], { cwd: dir, timeoutMs: 400_000 })).code).toBe(0);
    writeFileSync(join(dir, 'gantry.yaml'), readFileSync(join(dir, 'gantry.yaml'), 'utf8').replace('instances: 2', 'instances: 4'));
    const deploying = gantry(['deploy'], { cwd: dir, timeoutMs: 400_000 });
    await new Promise((r) => setTimeout(r, 30_000));
    expect((await gantry(['abort'], { cwd: dir })).code).toBe(0);
    expect((await deploying).code).not.toBe(0);
  });
});
