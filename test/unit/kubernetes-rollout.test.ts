/** How the kubernetes runtime reads the engine's routes and judges canary steps (pure parts; the cluster side is live-only). */
import { describe, expect, it } from 'vitest';
import { prometheusVerdict, readinessVerdict } from '../../src/targets/kubernetes/canary-judge.js';
import { phaseForRoutes, routeChangeApplies } from '../../src/targets/kubernetes/route-phase.js';

const r = (release: string, weight = 1) => ({ release, weight });
const canary = () => 'canary' as const;

describe('routes → chart phase', () => {
  it('a share of the new release is the canary at that weight; all of it is the promotion', () => {
    expect(phaseForRoutes([r('old', 3), r('new', 1)], 'old', canary)).toEqual({ release: 'new', phase: { at: 'weight', percent: 25 } });
    expect(phaseForRoutes([r('old', 1), r('new', 1)], 'old', canary)).toEqual({ release: 'new', phase: { at: 'weight', percent: 50 } });
    expect(phaseForRoutes([r('new'), r('new')], 'old', canary)).toEqual({ release: 'new', phase: { at: 'promoted' } });
  });

  it('blue-green: the new track is up but not serving until it takes all traffic', () => {
    expect(phaseForRoutes([r('old'), r('new')], 'old', () => 'blue-green')).toEqual({ release: 'new', phase: { at: 'start' } });
    expect(phaseForRoutes([r('new')], 'old', () => 'blue-green')).toEqual({ release: 'new', phase: { at: 'promoted' } });
  });

  it('everything back on the stable release (a failed canary, a switch-back) empties the canary track; no routes change nothing', () => {
    expect(phaseForRoutes([r('old'), r('old')], 'old', canary)).toEqual({ release: 'old', phase: { at: 'promoted' } });
    expect(phaseForRoutes([], 'old', canary)).toBeUndefined();
    expect(phaseForRoutes([r('first')], undefined, canary)).toEqual({ release: 'first', phase: { at: 'promoted' } });
  });
});

describe('which route changes are helm operations', () => {
  it('one workload: only going back to another release; two tracks: every change', () => {
    const promoted = { at: 'promoted' } as const;
    // rolling: the Deployment rolled itself out when the release started; its steps change nothing.
    expect(routeChangeApplies(false, { release: 'new', phase: { at: 'weight', percent: 33 } }, 'new')).toBe(false);
    expect(routeChangeApplies(false, { release: 'new', phase: promoted }, 'new')).toBe(false);
    // a failed watch switches back: helm rollback to the old release.
    expect(routeChangeApplies(false, { release: 'old', phase: promoted }, 'new')).toBe(true);
    expect(routeChangeApplies(true, { release: 'new', phase: { at: 'weight', percent: 10 } }, 'old')).toBe(true);
    expect(routeChangeApplies(true, { release: 'old', phase: promoted }, 'old')).toBe(true);
  });
});

describe('canary verdicts', () => {
  it('Prometheus: the query value against max; no data is inconclusive, never a failure', () => {
    const vec = (v: string) => ({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1_733_000_000, v] }] } });
    expect(prometheusVerdict(vec('0.002'), 0.01, 'q')).toEqual({ verdict: 'pass', reasons: ['q = 0.002 (at most 0.01)'] });
    expect(prometheusVerdict(vec('0.2'), 0.01, 'q')).toEqual({ verdict: 'fail', reasons: ['q = 0.2, above 0.01'] });
    expect(prometheusVerdict({ status: 'success', data: { resultType: 'scalar', result: [1, '5'] } }, 10, 'q').verdict).toBe('pass');
    expect(prometheusVerdict({ status: 'success', data: { resultType: 'vector', result: [] } }, 0.01, 'q')).toEqual({ verdict: 'inconclusive', reasons: ['no value yet for q'] });
    expect(prometheusVerdict(vec('NaN'), 0.01, 'q').verdict).toBe('inconclusive');
    expect(prometheusVerdict({ status: 'error', error: 'bad query' }, 0.01, 'q').verdict).toBe('inconclusive');
  });

  it('readiness gates: all canary pods Ready pass, a restart fails, otherwise wait', () => {
    const pod = (ready: boolean, restarts = 0) => ({ name: 'p', ready, restarts, phase: 'Running' });
    expect(readinessVerdict([pod(true), pod(true)])).toEqual({ verdict: 'pass', reasons: ['2/2 canary pods ready'] });
    expect(readinessVerdict([pod(true), pod(false)])).toEqual({ verdict: 'inconclusive', reasons: ['1/2 canary pods ready'] });
    expect(readinessVerdict([])).toEqual({ verdict: 'inconclusive', reasons: ['0/0 canary pods ready'] });
    expect(readinessVerdict([pod(false, 2)]).verdict).toBe('fail');
  });
});

describe('the Secret on a traffic change', () => {
  it('is written only from values the engine handed over: a weight change (no values) never sends an emptied Secret', async () => {
    const { connect } = await import('../../src/targets/kubernetes/cluster.js');
    const { writeSecret } = await import('../../src/targets/kubernetes/apply.js');
    const { openKubeconfig } = await import('../../src/targets/kubernetes/kubeconfig.js');
    const { kubernetesConfigSchema } = await import('../../src/targets/kubernetes/config.js');
    const { loadInput } = await import('../helpers/k8s-chart.js');
    // A cluster that refuses connections: any API call fails, so a call is seen.
    const kc = `apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]\nusers: [{ name: u, user: { token: t } }]\ncontexts: [{ name: x, context: { cluster: c, user: u } }]\ncurrent-context: x\n`;
    const file = openKubeconfig(kubernetesConfigSchema.parse({ kubeconfig: { base64: Buffer.from(kc).toString('base64') } }), '/tmp');
    try {
      const a = { cluster: await connect(file, 'default') };
      const input = loadInput('secrets: [DB_URL]', '');
      await expect(writeSecret(a, input, {})).resolves.toBeUndefined();
      await expect(writeSecret(a, input, { DB_URL: 'postgres://x' })).rejects.toThrow(/does not answer \(apply secret/);
    } finally {
      file.dispose();
    }
  });
});

describe('image reference', () => {
  it('is `image`, prefixed with `registry` only when it names no registry', async () => {
    const { imageOf } = await import('../../src/targets/kubernetes/index.js');
    const { kubernetesConfigSchema } = await import('../../src/targets/kubernetes/config.js');
    const cfg = (o: object) => kubernetesConfigSchema.parse(o);
    expect(imageOf(cfg({ image: 'shop:1.4', registry: 'registry.example.com/team/' }))).toBe('registry.example.com/team/shop:1.4');
    expect(imageOf(cfg({ image: 'ghcr.io/acme/shop:1.4', registry: 'registry.example.com/team' }))).toBe('ghcr.io/acme/shop:1.4');
    expect(imageOf(cfg({ image: 'shop:1.4' }))).toBe('shop:1.4');
    expect(() => imageOf(cfg({ registry: 'r.example.com' }))).toThrow(/no image to run/);
  });
});
