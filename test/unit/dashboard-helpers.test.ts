/**
 * Issue 19: the pure parts behind the dashboard: what the API redacts from a
 * deployment's config and a release's manifest, how a validation problem finds
 * its form field, the config diff, and the analysis figures the chart draws.
 */
import { describe, expect, it } from 'vitest';
import { redactedConfig, redactValue, triggerOf } from '../../src/server/jobs/redact-config.js';
import { redactManifest } from '../../src/server/routes/release-config.js';
import { fieldFor, leafPaths, parseLoose, setAt } from '../../web/app/wizard/schema-form.js';
import { diffJson } from '../../web/app/history/diff.js';
import { analysisPoints, trafficPoints } from '../../web/app/lib/analysis.js';

describe('redaction', () => {
  it('a deployment\'s config: env values never, credential-like platform fields redacted, secret references kept', () => {
    const c = redactedConfig({ platformConfig: { namespace: 'prod', kubeconfig: { base64: 'QUJD' }, key: { secret: 'DEPLOY_KEY' }, registry_password: 'p4ss', hosts: ['a', 'b'], ingress: { host: 'x', tls_secret: 'tls' } }, envVars: { GREETING: 'hello', DB_URL: 'postgres://u:p@h/db' }, force: true });
    expect(c).toEqual({ platform_config: { namespace: 'prod', kubeconfig: '[redacted]', key: { secret: 'DEPLOY_KEY' }, registry_password: '[redacted]', hosts: ['a', 'b'], ingress: { host: 'x', tls_secret: '[redacted]' } }, env_vars: { GREETING: '[redacted]', DB_URL: '[redacted]' }, env: null, force: true, release: null });
    expect(JSON.stringify(c)).not.toMatch(/QUJD|p4ss|hello|postgres/);
    expect(redactValue('token', 'abc')).toBe('[redacted]');
    expect(triggerOf('hook:git:abc123', {})).toEqual({ by: 'hook:git:abc123', via: 'git-push' });
    expect(triggerOf('key_x', {})).toEqual({ by: 'key_x', via: 'api' });
  });

  it('a release\'s manifest: env values become fingerprints (a change shows, the value does not)', () => {
    const a = redactManifest({ app: 'x', env: { GREETING: 'one' }, targets: { k: { type: 'kubernetes', kubeconfig: '/root/.kube/config' } } });
    const b = redactManifest({ app: 'x', env: { GREETING: 'two' }, targets: { k: { type: 'kubernetes', kubeconfig: '/root/.kube/config' } } });
    expect(JSON.stringify(a)).not.toMatch(/"one"|kube\/config/);
    expect((a.env as any).GREETING).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect((a.env as any).GREETING).not.toBe((b.env as any).GREETING);
    expect(diffJson(a, b).map((r) => r.path)).toEqual(['env.GREETING']);
  });
});

describe('wizard forms', () => {
  const schema = { type: 'object', properties: { port: { type: 'integer' }, hosts: { type: 'array' }, resources: { type: 'object', properties: { memory: { type: 'string' }, cpus: { type: 'number' } } } } };
  it('a validation problem lands on its field, from the config\'s schema or from the manifest', () => {
    const fields = leafPaths(schema);
    expect(fields).toEqual(['port', 'hosts', 'resources.memory', 'resources.cpus']);
    expect(fieldFor('platform_config.port', fields)).toBe('port');
    expect(fieldFor('platform_config.hosts.0', fields)).toBe('hosts');
    expect(fieldFor('targets.local.resources.memory', fields)).toBe('resources.memory');
    expect(fieldFor('targets[local].resources.cpus', fields)).toBeUndefined();
    expect(fieldFor('run.command', fields)).toBeUndefined();
  });
  it('form values become config: nested paths set and cleared, JSON-looking text parsed', () => {
    let c = setAt({}, ['resources', 'memory'], '512Mi');
    expect(c).toEqual({ resources: { memory: '512Mi' } });
    c = setAt(c, ['resources', 'memory'], undefined);
    expect(c).toEqual({});
    expect(parseLoose('{"secret":"KEY"}')).toEqual({ secret: 'KEY' });
    expect(parseLoose('~/.ssh/id')).toBe('~/.ssh/id');
    expect(parseLoose('{not json')).toBe('{not json');
  });
});

describe('analysis figures', () => {
  it('judged steps from analyze events (else the result), and the live figures per release', () => {
    const verdict = { percent: 50, verdict: 'pass', reasons: [], canary: { requests: 40, errorRate: 0.025, p99Ms: 12 }, stable: { errorRate: 0, p99Ms: 9 } };
    const events = [{ seq: 1, at: '', level: 'info' as const, step: 'analyze', message: 'canary at 50%', data: { live: {} } }, { seq: 2, at: '', level: 'info' as const, step: 'analyze', message: 'pass', data: verdict }];
    expect(analysisPoints(events)).toEqual([{ percent: 50, verdict: 'pass', requests: 40, errorRate: 0.025, p99Ms: 12, stableErrorRate: 0, stableP99Ms: 9 }]);
    expect(analysisPoints([], { analysis: [verdict] })).toHaveLength(1);
    const live = trafficPoints({ releases: [{ release: '20261201T225910682Z-c3ce2f2b69', requests: 10, errorRate: 0, p99Ms: 3 }, { release: '20261201T230019099Z-c3ce2f2b69', requests: 9, errorRate: 0.1, p99Ms: 5 }] }, '20261201T230019099Z-c3ce2f2b69');
    expect(live.map((p) => p.label)).toEqual(['stable 225910', 'canary 230019']);
  });
});
