/**
 * The kubernetes target's chart, verified without a cluster (none can run here):
 * for a matrix of manifests, the generated chart passes the real `helm lint --strict`,
 * `helm template` renders exactly the objects Gantry reports (plan), every object
 * validates against the Kubernetes, Gateway API and Argo Rollouts schemas, and the
 * fields match the manifest (asserted field by field, no snapshots).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { writeChart } from '../../src/targets/kubernetes/chart-files.js';
import type { ChartInput } from '../../src/targets/kubernetes/chart-input.js';
import { lintArgv, runHelm, templateArgv } from '../../src/targets/kubernetes/helm.js';
import { chartObjects, chartValues, REDACTED, renderedObjects, type K8sObject } from '../../src/targets/kubernetes/render.js';
import { schemaProblems } from '../../src/targets/kubernetes/schema-check.js';
import { findTool } from '../../src/targets/kubernetes/tools.js';
import { loadInput } from '../helpers/k8s-chart.js';

const helm = await findTool('helm');
const NO_HELM = 'skipped: no helm on PATH or in the tools dir: run scripts/k8s-tools.sh';
const tmp = mkdtempSync(join(tmpdir(), 'gantry-k8s-chart-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const HEALTH = 'health: { path: /healthz, interval: 5s, timeout: 2s, start_period: 20s, retries: 4 }';
/** Hook commands with quotes, $ and "{{": they must reach the Job as one argument each, unchanged. */
const PRE = 'npm run migrate -- --to "$GANTRY_RELEASE" && echo \'{{ done }}\'';
const POST = 'curl -fsS -X POST http://notify.internal/deployed';
const HOOKS = `hooks: { pre_deploy: ${JSON.stringify(PRE)}, post_deploy: ${JSON.stringify(POST)} }`;
const STRATEGIES = ['recreate', 'rolling', 'blue-green', 'canary'] as const;

interface Case {
  name: string;
  top: string;
  target: string;
  /** The image serving before this release (blue-green and canary keep it on the stable track). */
  stableImage?: string;
}

const matrix: Case[] = [
  ...STRATEGIES.map((s) => ({ name: `${s}, no ingress`, top: `${HEALTH}\nrun: { port: 8080, instances: 3 }\nstrategy: { type: ${s}, max_surge: 2, max_unavailable: 1, steps: [20, 50, 100] }`, target: '    replicas: 4', stableImage: 'registry.example.com/team/web:1' })),
  ...STRATEGIES.map((s) => ({ name: `${s}, ingress with TLS, autoscale, secrets, persist, quota, hooks`, top: `${HEALTH}\n${HOOKS}\nstrategy: { type: ${s} }\nsecrets: [DB_URL, API_TOKEN]\npersist: [data, uploads/img]\nenv: { MODE: prod, TEMPLATE: "{{ not helm }}" }\nautoscale: { min: 2, max: 7, cpu_percent: 65 }`, target: '    namespace: team-a\n    ingress: { host: web.example.com, tls_secret: web-tls, class: nginx }\n    resources: { cpu: 250m, memory: 256Mi, limits: { cpu: "1" } }\n    quota: { cpu: "4", memory: 8Gi, pods: 20, storage: 50Gi }\n    storage: { size: 5Gi, class: fast }' })),
  { name: 'canary through Gateway API, mid-rollout, hooks', top: `${HEALTH}\n${HOOKS}\nstrategy: { type: canary, steps: [10, 100] }`, target: '    replicas: 5\n    traffic: gateway-api\n    gateway: { name: public, namespace: gateway-system }\n    ingress: { host: web.example.com }', stableImage: 'registry.example.com/team/web:1' },
  { name: 'blue-green through Gateway API', top: `${HEALTH}\nstrategy: { type: blue-green }`, target: '    traffic: gateway-api\n    gateway: { name: public }', stableImage: 'registry.example.com/team/web:1' },
  { name: 'canary on Argo Rollouts with Prometheus analysis', top: `${HEALTH}\nstrategy: { type: canary, steps: [10, 50, 100], pause: 1m }`, target: '    replicas: 3\n    engine: argo-rollouts\n    analysis: { prometheus: { address: "http://prometheus.monitoring:9090", query: "sum(rate(errors{release=\\"{{release}}\\"}[1m]))", max: 0.01 } }' },
  { name: 'canary on Argo Rollouts through Gateway API, autoscaled', top: `${HEALTH}\nstrategy: { type: canary, pause: manual }\nautoscale: { min: 1, max: 3, cpu_percent: 50 }`, target: '    engine: argo-rollouts\n    traffic: gateway-api\n    gateway: { name: public }' },
  { name: 'blue-green on Argo Rollouts', top: `${HEALTH}\nstrategy: { type: blue-green, keep_previous: 2m }`, target: '    engine: argo-rollouts\n    replicas: 2' },
  { name: 'tcp health, first deploy of a canary', top: 'health: { type: tcp }\nstrategy: { type: canary }', target: '' },
  { name: 'command health, rolling, quota of pods only', top: 'health: { command: "test -f /tmp/ready" }', target: '    quota: { pods: 4 }' },
];

const inputOf = (c: Case): ChartInput => loadInput(c.top, c.target, { stableImage: c.stableImage });
const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: K8sObject[], kind: string, name?: string): any => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `${kind}${name ? `/${name}` : ''}`).toHaveLength(1);
  return found[0];
};
const containerOf = (workload: any) => workload.spec.template.spec.containers[0];

describe.each(matrix)('chart: $name', (c) => {
  const input = inputOf(c);
  const objects = renderedObjects(input);

  it('every rendered object validates against the Kubernetes schemas', async () => {
    expect(await schemaProblems(objects)).toEqual([]);
  });

  it.skipIf(!helm)(`helm lint --strict passes and helm template renders exactly these objects${helm ? '' : ` (${NO_HELM})`}`, async () => {
    const dir = writeChart(join(tmp, c.name.replace(/\W+/g, '-')), input);
    await runHelm(helm!, lintArgv(dir));
    const out = await runHelm(helm!, templateArgv(input.name, dir, input.config.namespace));
    const rendered = parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean) as K8sObject[];
    // helm orders objects by kind; compare as sets.
    const key = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
    const sorted = (l: K8sObject[]) => [...l].sort((a, b) => key(a).localeCompare(key(b)));
    expect(sorted(rendered)).toEqual(sorted(objects.filter((o) => o.kind !== 'Secret')));
    expect(await schemaProblems(rendered)).toEqual([]);
  });

  it('probes, resources, replicas, image and strategy fields match the manifest', () => {
    const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'Rollout')!;
    const ctr = containerOf(workload);
    const h = input.health;
    const handler = h.type === 'http' ? { httpGet: { path: h.path, port: 'http' } } : h.type === 'tcp' ? { tcpSocket: { port: 'http' } } : { exec: { command: ['sh', '-c', h.command] } };
    expect(ctr.readinessProbe).toMatchObject({ ...handler, periodSeconds: Math.ceil(h.intervalMs / 1000), timeoutSeconds: Math.ceil(h.timeoutMs / 1000), failureThreshold: h.retries });
    expect(ctr.livenessProbe).toMatchObject({ ...handler, failureThreshold: h.retries });
    expect(ctr.startupProbe.failureThreshold).toBe(Math.ceil(h.startPeriodMs / h.intervalMs) + h.retries);
    expect(ctr.ports).toEqual([{ name: 'http', containerPort: input.port, protocol: 'TCP' }]);
    expect(ctr.env).toContainEqual({ name: 'PORT', value: String(input.port) });
    // preStop waits out the drain; the grace period covers drain and stop.
    expect(ctr.lifecycle.preStop.sleep.seconds).toBe(Math.ceil(input.strategy.drainMs / 1000));
    expect(workload.spec.template.spec.terminationGracePeriodSeconds).toBe(Math.ceil(input.strategy.drainMs / 1000) + Math.ceil(input.strategy.stopMs / 1000));
    if (input.config.resources) expect(ctr.resources).toEqual({ requests: { cpu: input.config.resources.cpu, memory: input.config.resources.memory }, limits: { cpu: input.config.resources.limits?.cpu, memory: input.config.resources.memory } });
    else expect(ctr.resources).toBeUndefined();

    const values = chartValues(input);
    const stable = workload as any;
    // The stable track keeps what serves now; a one-workload strategy (or Argo) runs the new image itself.
    const tracked = stable.kind === 'Deployment' && (input.strategy.type === 'blue-green' || input.strategy.type === 'canary');
    expect(containerOf(stable).image).toBe(tracked ? input.stableImage : input.image);
    expect(stable.spec.template.metadata.annotations['gantry.dev/release']).toBe(tracked ? input.stableRelease : input.release);
    if (input.autoscale) {
      expect(stable.spec.replicas).toBeUndefined();
      const hpa = one(objects, 'HorizontalPodAutoscaler');
      expect(hpa.spec).toMatchObject({ minReplicas: input.autoscale.min, maxReplicas: input.autoscale.max, scaleTargetRef: { kind: stable.kind, name: stable.metadata.name } });
      expect(hpa.spec.metrics[0].resource.target.averageUtilization).toBe(input.autoscale.cpuPercent);
    } else {
      expect(stable.spec.replicas).toBe(input.replicas);
      expect(byKind(objects, 'HorizontalPodAutoscaler')).toEqual([]);
    }

    const s = input.strategy;
    if (stable.kind === 'Rollout') {
      if (s.type === 'canary') {
        const steps = stable.spec.strategy.canary.steps;
        expect(steps.filter((x: any) => x.setWeight !== undefined).map((x: any) => x.setWeight)).toEqual(s.steps.filter((p) => p < 100));
        expect(steps.find((x: any) => x.pause).pause).toEqual(s.pause === 'manual' ? {} : { duration: `${Math.ceil((s.pause as number) / 1000)}s` });
        expect(stable.spec.strategy.canary).toMatchObject({ maxSurge: s.maxSurge, maxUnavailable: s.maxUnavailable });
      } else {
        expect(stable.spec.strategy.blueGreen).toMatchObject({ activeService: 'web', previewService: 'web-preview', scaleDownDelaySeconds: Math.ceil(s.keepPreviousMs / 1000) });
      }
      expect(containerOf(stable).image).toBe(input.image);
      return;
    }
    const expectedStrategy = s.type === 'recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: s.maxSurge, maxUnavailable: s.maxUnavailable } };
    expect(stable.spec.strategy).toEqual(expectedStrategy);
    if (s.type === 'recreate' || s.type === 'rolling') {
      expect(containerOf(stable).image).toBe(input.image);
      expect(byKind(objects, 'Deployment')).toHaveLength(1);
      return;
    }
    const canary = one(objects, 'Deployment', 'web-canary');
    expect(containerOf(canary).image).toBe(input.image);
    expect(canary.spec.template.metadata.annotations['gantry.dev/release']).toBe(input.release);
    const firstDeploy = input.stableRelease === input.release;
    if (firstDeploy) expect(canary.spec.replicas).toBe(0);
    else if (s.type === 'canary') expect(canary.spec.replicas).toBe(Math.max(1, Math.ceil((input.replicas * s.steps[0]!) / 100)));
    else expect(canary.spec.replicas).toBe(input.replicas);
    if (input.config.traffic === 'gateway-api') {
      const refs = one(objects, 'HTTPRoute').spec.rules[0].backendRefs;
      const first = firstDeploy || s.type === 'blue-green' ? 0 : s.steps[0]!;
      expect(refs.map((r: any) => [r.name, r.weight])).toEqual([
        ['web-stable', 100 - first],
        ['web-canary', first],
      ]);
    } else if (s.type === 'blue-green') {
      expect(one(objects, 'Service', 'web').spec.selector['gantry.dev/track']).toBe(values.active);
      expect(one(objects, 'Service', 'web-preview').spec.selector['gantry.dev/track']).toBe(values.inactive);
    } else {
      // By replica ratio: the one Service selects both tracks.
      expect(one(objects, 'Service', 'web').spec.selector).toEqual({ 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/instance': 'web' });
    }
  });

  it('ingress, HTTPRoute, secrets, persist and quota objects match the manifest', () => {
    const cfg = input.config;
    if (cfg.ingress && cfg.traffic !== 'gateway-api') {
      const ing = one(objects, 'Ingress');
      expect(ing.spec.rules[0].host).toBe(cfg.ingress.host);
      expect(ing.spec.ingressClassName).toBe(cfg.ingress.class);
      expect(ing.spec.tls).toEqual(cfg.ingress.tls_secret ? [{ hosts: [cfg.ingress.host], secretName: cfg.ingress.tls_secret }] : undefined);
      expect(ing.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'web', port: { name: 'http' } });
    } else expect(byKind(objects, 'Ingress')).toEqual([]);
    if (cfg.traffic === 'gateway-api') {
      const route = one(objects, 'HTTPRoute');
      expect(route.spec.parentRefs[0].name).toBe(cfg.gateway!.name);
      expect(route.spec.hostnames).toEqual(cfg.ingress ? [cfg.ingress.host] : undefined);
    } else expect(byKind(objects, 'HTTPRoute')).toEqual([]);

    const secret = byKind(objects, 'Secret');
    if (input.secretNames.length) {
      expect(secret).toHaveLength(1);
      expect((secret[0] as any).stringData).toEqual(Object.fromEntries(input.secretNames.map((n) => [n, REDACTED])));
      const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'Rollout')!;
      expect(containerOf(workload).envFrom).toContainEqual({ secretRef: { name: 'web-secrets' } });
    } else expect(secret).toEqual([]);
    // The chart itself never holds the Secret (its values are applied at deploy time).
    expect(chartObjects(input).filter((o) => o.kind === 'Secret')).toEqual([]);
    expect(one(objects, 'ConfigMap').data).toEqual(input.env);

    const claims = byKind(objects, 'PersistentVolumeClaim') as any[];
    expect(claims.map((c) => c.metadata.annotations['gantry.dev/persist'])).toEqual(input.persist);
    for (const c of claims) expect(c.spec).toMatchObject({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: cfg.storage.size } }, storageClassName: cfg.storage.class });
    const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'Rollout') as any;
    expect((containerOf(workload).volumeMounts ?? []).map((m: any) => m.mountPath)).toEqual(input.persist.map((p) => `/app/${p}`));

    if (cfg.quota) {
      const q = one(objects, 'ResourceQuota');
      expect(q.spec.hard).toEqual({
        ...(cfg.quota.cpu ? { 'requests.cpu': cfg.quota.cpu } : {}),
        ...(cfg.quota.memory ? { 'requests.memory': cfg.quota.memory } : {}),
        ...(cfg.quota.pods ? { pods: String(cfg.quota.pods) } : {}),
        ...(cfg.quota.storage ? { 'requests.storage': cfg.quota.storage } : {}),
      });
      expect(byKind(objects, 'LimitRange')).toHaveLength(cfg.quota.cpu || cfg.quota.memory ? 1 : 0);
    } else expect(byKind(objects, 'ResourceQuota')).toEqual([]);
    for (const o of objects) expect(o.metadata.namespace).toBe(cfg.namespace);
  });
});

describe('a release that changed only env or secret values', () => {
  it('gets a new pod template (its pods are replaced and read the new values); the stable track of a canary keeps its own', () => {
    const a = renderedObjects(loadInput('env: { MODE: a }', '', { release: '20261201T120000000Z-aaaaaaaaaa' }));
    const b = renderedObjects(loadInput('env: { MODE: b }', '', { release: '20261201T130000000Z-bbbbbbbbbb' }));
    const tmpl = (objs: K8sObject[]) => (objs.find((o) => o.kind === 'Deployment') as any).spec.template;
    expect(tmpl(a).spec).toEqual(tmpl(b).spec);
    expect(tmpl(a)).not.toEqual(tmpl(b));
    const c = renderedObjects(loadInput('strategy: { type: canary }\nenv: { MODE: c }', '', { release: '20261201T140000000Z-cccccccccc', stableImage: 'registry.example.com/team/web:2' }));
    expect((c.find((o) => o.kind === 'Deployment' && o.metadata.name === 'web') as any).spec.template.metadata.annotations['gantry.dev/release']).toBe('20261130T120000000Z-0123456789');
  });
});

describe('chart on disk', () => {
  it.skipIf(!helm)(`is packageable with helm package${helm ? '' : ` (${NO_HELM})`}`, async () => {
    const input = loadInput('strategy: { type: canary }\npersist: [data]', '    ingress: { host: web.example.com }\n    autoscale: { min: 1, max: 3 }');
    const dir = writeChart(join(tmp, 'package'), input);
    const out = await runHelm(helm!, ['package', dir, '--destination', join(tmp, 'package')]);
    expect(out).toContain(`web-1.0.0-${input.release}.tgz`);
    expect(readdirSync(join(tmp, 'package'))).toContain(`web-1.0.0-${input.release}.tgz`);
  });

  it('holds no secret value, and literal "{{" in the manifest reaches the pod unchanged', async () => {
    const input = loadInput('secrets: [DB_URL]\nenv: { GREETING: "{{ hi }}" }', '');
    const dir = writeChart(join(tmp, 'secret-check'), input);
    const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const text = files.map((f) => readFileSync(join(f.parentPath, f.name), 'utf8')).join('\n');
    expect(text).not.toContain('kind: Secret');
    expect(text).not.toContain(REDACTED);
    expect(text).toContain('secretRef');
    if (!helm) return;
    const out = await runHelm(helm, templateArgv('web', dir, 'default'));
    const cm = parseAllDocuments(out).map((d) => d.toJS()).find((o) => o?.kind === 'ConfigMap');
    expect(cm.data.GREETING).toBe('{{ hi }}');
  });
});

describe('hooks as Helm hook Jobs', () => {
  const jobs = (objs: K8sObject[]) => byKind(objs, 'Job') as any[];
  const first = loadInput(`${HOOKS}\nsecrets: [DB_URL]\nenv: { MODE: prod }\nrun: { port: 8080 }`, '    image_pull_secret: regcred');

  it('run the release image with the hook as one argv argument (no shell text built from the manifest), env and Secret refs, helm hook annotations', () => {
    const [pre, post] = jobs(renderedObjects(first, { at: 'promoted' }));
    expect(pre.metadata.name).toBe('web-pre-deploy');
    expect(pre.metadata.annotations).toEqual({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-delete-policy': 'before-hook-creation,hook-succeeded', 'helm.sh/hook-weight': '0' });
    expect(post.metadata.annotations['helm.sh/hook']).toBe('post-install,post-upgrade');
    expect(post.metadata.annotations['helm.sh/hook-delete-policy']).toBe('before-hook-creation,hook-succeeded');
    const c = pre.spec.template.spec.containers[0];
    expect(c.image).toBe('registry.example.com/team/web:2');
    expect(c.command).toEqual(['/bin/sh', '-c']);
    expect(c.args).toEqual([PRE]);
    expect(c.env).toEqual([
      { name: 'PORT', value: '8080' },
      { name: 'GANTRY_RELEASE', value: first.release },
      { name: 'GANTRY_HOOK', value: 'pre_deploy' },
      { name: 'MODE', value: 'prod' },
    ]);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'web-secrets' } }]);
    // post_deploy: a fixed wrapper (no manifest text in it) runs the hook given as $1; its failure never fails the upgrade.
    const pc = post.spec.template.spec.containers[0];
    expect(pc.command).toEqual(['/bin/sh', '-c', '/bin/sh -c "$1" || echo "gantry: post_deploy exited with code $?; the release stays deployed" >&2']);
    expect(pc.args).toEqual(['gantry-post-deploy', POST]);
    expect(pc.command.join(' ')).not.toContain('curl');
    expect(pre.spec).toMatchObject({ backoffLimit: 0, template: { spec: { restartPolicy: 'Never', automountServiceAccountToken: false, imagePullSecrets: [{ name: 'regcred' }] } } });
    // Hook pods carry no instance label: Services, the PDB and Gantry's pod lists leave them out.
    expect(pre.spec.template.metadata.labels).toEqual({ 'app.kubernetes.io/name': 'web', 'gantry.dev/hook': 'pre-deploy' });
  });

  it('pre_deploy runs with the release\'s first upgrade, post_deploy with its promotion; none while weights move', () => {
    const names = (phase: Parameters<typeof renderedObjects>[1], i = first) => jobs(renderedObjects(i, phase)).map((j) => j.metadata.name);
    // One workload (or a first deploy): its one upgrade runs both.
    expect(names({ at: 'promoted' })).toEqual(['web-pre-deploy', 'web-post-deploy']);
    const canary = loadInput(`${HOOKS}\nstrategy: { type: canary, steps: [20, 100] }`, '', { stableImage: 'registry.example.com/team/web:1' });
    expect(names({ at: 'start' }, canary)).toEqual(['web-pre-deploy']);
    expect(names({ at: 'weight', percent: 50 }, canary)).toEqual([]);
    expect(names({ at: 'promoted' }, canary)).toEqual(['web-post-deploy']);
    const bg = loadInput(`${HOOKS}\nstrategy: { type: blue-green }`, '', { stableImage: 'registry.example.com/team/web:1' });
    expect(names({ at: 'switched' }, bg)).toEqual([]);
    // Without hooks the values carry no hooks key (charts of hook-less apps are unchanged).
    expect(chartValues(loadInput('', '')).hooks).toBeUndefined();
  });

  it.skipIf(!helm)(`helm template renders a hook Job only when the phase's values turn it on${helm ? '' : ` (${NO_HELM})`}`, async () => {
    const canary = loadInput(`${HOOKS}\nstrategy: { type: canary, steps: [20, 100] }`, '', { stableImage: 'registry.example.com/team/web:1' });
    const dir = writeChart(join(tmp, 'hooks-phases'), canary);
    await runHelm(helm!, lintArgv(dir));
    for (const [phase, want] of [
      [{ at: 'start' }, ['web-pre-deploy']],
      [{ at: 'weight', percent: 20 }, []],
      [{ at: 'promoted' }, ['web-post-deploy']],
    ] as const) {
      const valuesFile = join(tmp, `hooks-${phase.at}.yaml`);
      writeFileSync(valuesFile, stringify(chartValues(canary, phase)));
      const out = await runHelm(helm!, [...templateArgv('web', dir, 'default'), '--values', valuesFile]);
      const rendered = parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean) as K8sObject[];
      expect(jobs(rendered).map((j) => j.metadata.name)).toEqual(want);
      expect(jobs(rendered)).toEqual(jobs(renderedObjects(canary, phase)));
      expect(await schemaProblems(rendered)).toEqual([]);
    }
  });
});
