import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/core/defaults.js';
import { dockerHealthcheck } from '../../src/targets/docker/container-spec.js';

describe("docker's own HEALTHCHECK", () => {
  it('never runs more often than the floor, whatever the manifest interval (it forks a probe per run)', () => {
    const hc = dockerHealthcheck({ type: 'http', path: '/health', intervalMs: 200, timeoutMs: 500, retries: 3, startPeriodMs: 1_000, expectStatusMin: 200, expectStatusMax: 399 } as never)!;
    expect(hc.Interval).toBe(DEFAULTS.dockerHealthcheck.minIntervalMs * 1e6);
    expect(hc.Timeout).toBe(DEFAULTS.dockerHealthcheck.minTimeoutMs * 1e6);
    const slow = dockerHealthcheck({ type: 'http', path: '/health', intervalMs: 60_000, timeoutMs: 9_000, retries: 3, startPeriodMs: 0, expectStatusMin: 200, expectStatusMax: 399 } as never)!;
    expect(slow.Interval).toBe(60_000 * 1e6);
    expect(slow.Timeout).toBe(9_000 * 1e6);
  });

  it('execs the probe so a timeout kills it, not only the shell (orphaned probes piled up under load)', () => {
    const hc = dockerHealthcheck({ type: 'http', path: '/health', intervalMs: 1_000, timeoutMs: 1_000, retries: 3, startPeriodMs: 0, expectStatusMin: 200, expectStatusMax: 399 } as never)!;
    const script = hc.Test[1]!;
    for (const client of ['node -e', 'python3 -c', 'wget -q', 'curl -fsS']) expect(script).toContain(`exec ${client}`);
  });
});
