/**
 * The kubernetes target's bad input, caught before anything is applied: names that
 * are not DNS-1123, invalid quantities, kubeconfigs that do not parse, each named
 * with file, line, path and hint; the helm/kubectl resolver that trusts a binary
 * only when it runs; helm's argv without secrets.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateManifestSource } from '../../src/manifest/load.js';
import { kubernetesConfigSchema } from '../../src/targets/kubernetes/config.js';
import { upgradeArgv, rollbackArgv } from '../../src/targets/kubernetes/helm.js';
import { openKubeconfig } from '../../src/targets/kubernetes/kubeconfig.js';
import { candidates, findTool } from '../../src/targets/kubernetes/tools.js';
import { validateKubernetes } from '../../src/targets/kubernetes/validate.js';
import { schemaProblems } from '../../src/targets/kubernetes/schema-check.js';
import { K8S_OPTS, manifestSource } from '../helpers/k8s-chart.js';

const ROOT = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'gantry-k8s-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: dev, context: { cluster: c, user: u } }]
current-context: dev
`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function check(target: string) {
  return validateManifestSource(manifestSource('', target), join(tmp, 'gantry.yaml'), K8S_OPTS);
}

describe('kubernetes target config', () => {
  it('applies the defaults', () => {
    const c = kubernetesConfigSchema.parse({ image: 'r.example.com/web:1' });
    expect(c).toMatchObject({ namespace: 'default', traffic: 'replicas', engine: 'deployment', workdir: '/app', service: { port: 80, type: 'ClusterIP' }, storage: { size: '1Gi' }, timeout: 300_000 });
    expect(kubernetesConfigSchema.parse({ kubeconfig: '~/.kube/dev', timeout: '90s' })).toMatchObject({ kubeconfig: { path: '~/.kube/dev' }, timeout: 90_000 });
    expect(kubernetesConfigSchema.parse({ kubeconfig: { base64: b64(KUBECONFIG) } }).kubeconfig).toEqual({ base64: b64(KUBECONFIG) });
  });

  it('names every mistake at its file, line and path, with a hint', () => {
    const r = check(
      [
        '    namespace: Team_A',
        '    release_name: "-web"',
        '    resources: { cpu: 2 cores, memory: 512MB }',
        '    ingress: { host: "not a host", tls_secret: TLS_Secret }',
        '    quota: { memory: lots }',
        '    storage: { size: "-1Gi" }',
        '    autoscale: { min: 5, max: 2 }',
        '    kubeconfig: { base64: "@@@" }',
      ].join('\n'),
    );
    expect(r.valid).toBe(false);
    const got = r.problems.map((p) => [p.path, p.line]);
    expect(got).toEqual([
      ['targets.k8s.kubeconfig.base64', 13],
      ['targets.k8s.namespace', 6],
      ['targets.k8s.release_name', 7],
      ['targets.k8s.resources.cpu', 8],
      ['targets.k8s.resources.memory', 8],
      ['targets.k8s.ingress.host', 9],
      ['targets.k8s.ingress.tls_secret', 9],
      ['targets.k8s.autoscale', 12],
      ['targets.k8s.quota.memory', 10],
      ['targets.k8s.storage.size', 11],
    ].sort((a, b) => (a[1] as number) - (b[1] as number) || String(a[0]).localeCompare(String(b[0]))) as never);
    const by = (path: string) => r.problems.find((p) => p.path === path)!;
    expect(by('targets.k8s.namespace').message).toContain('"Team_A" is not a DNS-1123 label');
    expect(by('targets.k8s.namespace').hint).toBe('did you mean "team-a"?');
    expect(by('targets.k8s.resources.cpu').message).toBe('invalid cpu "2 cores": not a Kubernetes quantity');
    expect(by('targets.k8s.resources.memory').message).toBe('invalid memory "512MB": not a Kubernetes quantity');
    expect(by('targets.k8s.resources.memory').hint).toContain('"512Mi"');
    expect(by('targets.k8s.ingress.tls_secret').message).toContain('not a DNS-1123 subdomain');
    expect(by('targets.k8s.kubeconfig.base64').message).toBe('the kubeconfig in kubeconfig.base64 does not parse: it is not base64');
    const gw = check('    traffic: gateway-api');
    expect(gw.problems.map((p) => [p.path, p.line, p.message])).toEqual([['targets.k8s.traffic', 6, 'traffic: gateway-api needs the Gateway the HTTPRoute attaches to']]);
    expect(gw.problems[0]!.hint).toContain('gateway: { name:');
    for (const p of r.problems) expect(p.hint.length, p.path).toBeGreaterThan(0);
  });

  it('base64 content that is not a usable kubeconfig is named with what is missing', () => {
    for (const [text, why] of [
      ['{ not: yaml: at all', 'it is not YAML'],
      ['apiVersion: v1\nclusters: []\n', 'it has no clusters'],
      [KUBECONFIG.replace('current-context: dev\n', ''), 'it names no current-context; set `context` to one of "dev"'],
    ] as const) {
      const r = check(`    kubeconfig: { base64: "${b64(text)}" }`);
      expect(r.problems.map((p) => p.message).join('\n')).toContain(why);
    }
    expect(check(`    kubeconfig: { base64: "${b64(KUBECONFIG)}" }\n    image: r.example.com/web:1`).valid).toBe(true);
  });

  it('validate (before any deploy) reads a kubeconfig file: unreadable, unparsable, an unknown context, and no image', () => {
    const ctx = { app: 'web', targetName: 'k8s', appDir: tmp, run: { port: 3000 }, persist: [] };
    writeFileSync(join(tmp, 'bad-kubeconfig'), 'clusters: nope\n');
    writeFileSync(join(tmp, 'kubeconfig'), KUBECONFIG);
    const at = (cfg: object) => validateKubernetes(kubernetesConfigSchema.parse({ image: 'r.example.com/web:1', ...cfg }), ctx).map((p) => [p.path.join('.'), p.level ?? 'error', p.message]);
    expect(at({ kubeconfig: './missing' })).toEqual([['kubeconfig', 'error', expect.stringMatching(/^the kubeconfig .*missing cannot be read: ENOENT$/)]]);
    expect(at({ kubeconfig: './bad-kubeconfig' })).toEqual([['kubeconfig', 'error', expect.stringMatching(/bad-kubeconfig does not parse: it has no clusters$/)]]);
    expect(at({ kubeconfig: './kubeconfig', context: 'prod' })).toEqual([['kubeconfig', 'error', expect.stringContaining('it has no context "prod" (it has "dev")')]]);
    expect(at({ kubeconfig: './kubeconfig' })).toEqual([]);
    const noImage = validateKubernetes(kubernetesConfigSchema.parse({ kubeconfig: './kubeconfig' }), ctx);
    expect(noImage.map((p) => p.path.join('.'))).toEqual(['image']);
    expect(noImage[0]!.hint).toContain('gantry push');
  });

  it('base64 content reaches helm as a private temporary file, removed after the command', () => {
    const f = openKubeconfig(kubernetesConfigSchema.parse({ kubeconfig: { base64: b64(KUBECONFIG) } }), tmp);
    expect(f.context).toBe('dev');
    expect(f.server).toBe('https://127.0.0.1:1');
    expect(readFileSync(f.path, 'utf8')).toBe(KUBECONFIG);
    expect(readdirSync(join(f.path, '..'))).toEqual(['config']);
    f.dispose();
    expect(() => readFileSync(f.path)).toThrow();
  });

  it('the schema check rejects a malformed object (it is not a no-op)', async () => {
    const bad = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 'three', selector: {}, template: {} } };
    expect((await schemaProblems([bad as never]))[0]).toMatch(/^Deployment\/web: /);
    expect((await schemaProblems([{ apiVersion: 'x/v1', kind: 'Thing', metadata: { name: 'a' } } as never]))[0]).toBe('Thing/a: no schema known for x/v1 Thing');
  });
});

describe('helm and kubectl', () => {
  it('a binary is trusted only when it runs and answers its version: PATH first, then the tools dir', async () => {
    const fakeBin = join(tmp, 'fake-bin');
    const tools = join(tmp, 'tools');
    mkdirSync(fakeBin, { recursive: true });
    mkdirSync(tools, { recursive: true });
    // A "helm" on PATH that is not helm (exits 1) is skipped.
    writeFileSync(join(fakeBin, 'helm'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(fakeBin, 'helm'), 0o755);
    const env = { PATH: fakeBin, GANTRY_TOOLS_DIR: tools };
    expect(candidates('helm', env)).toEqual([join(fakeBin, 'helm'), join(tools, 'helm')]);
    expect(await findTool('helm', env)).toBeUndefined();
    const real = await findTool('helm');
    if (!real) return; // no helm on this machine: scripts/k8s-tools.sh fetches it (the chart test says so by name)
    writeFileSync(join(tools, 'helm'), readFileSync(real.path));
    chmodSync(join(tools, 'helm'), 0o755);
    const env2 = { PATH: `${fakeBin}:/nonexistent`, GANTRY_TOOLS_DIR: tools };
    expect(await findTool('helm', env2)).toEqual({ name: 'helm', path: join(tools, 'helm'), version: real.version });
  });

  it('helm upgrade waits and rolls back on failure, with values from a file and no secret in argv', () => {
    const o = { release: 'web', chartDir: '/s/chart', valuesFile: '/t/values.yaml', timeoutMs: 120_000, kubeconfigPath: '/t/config', context: 'dev', namespace: 'team-a' };
    expect(upgradeArgv({ name: 'helm', path: 'helm', version: 'v3.17.1' }, o)).toEqual(['upgrade', '--install', 'web', '/s/chart', '--kubeconfig', '/t/config', '--kube-context', 'dev', '--namespace', 'team-a', '--create-namespace', '--values', '/t/values.yaml', '--atomic', '--wait', '--timeout', '120s']);
    expect(upgradeArgv({ name: 'helm', path: 'helm', version: 'v4.1.4' }, o)).toContain('--rollback-on-failure');
    expect(upgradeArgv({ name: 'helm', path: 'helm', version: 'v4.1.4' }, o).some((a) => a.startsWith('--set'))).toBe(false);
    expect(rollbackArgv({ name: 'helm', path: 'helm', version: 'v3.17.1' }, { ...o, revision: 4 })).toEqual(['rollback', 'web', '4', '--kubeconfig', '/t/config', '--kube-context', 'dev', '--namespace', 'team-a', '--wait', '--timeout', '120s']);
  });
});

describe('no engine branch on the kubernetes type', () => {
  it('src/engine never names the kubernetes type (the word appears nowhere in lower case)', () => {
    const dir = join(ROOT, 'src/engine');
    for (const f of readdirSync(dir, { recursive: true }) as string[]) if (f.endsWith('.ts')) expect(readFileSync(join(dir, f), 'utf8').includes('kubernetes'), f).toBe(false);
  });
});
