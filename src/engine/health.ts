/**
 * Health as the engine sees it: the manifest's section resolved into a spec.
 * Probing happens where the instance is (the target's runtime asks its node
 * agent: TargetRuntime.probe / waitHealthy); nothing here opens a connection.
 */
import type { Manifest } from '../manifest/index.js';
import type { HealthSpec } from '../core/health-spec.js';

export type { HealthSpec };

/** The manifest's health section (its schema applied the defaults) as the probes use it. */
export function resolveHealth(h: Manifest['health']): HealthSpec {
  return {
    type: h.type,
    path: h.path,
    command: h.command,
    expectStatus: h.expect_status,
    intervalMs: h.interval,
    timeoutMs: h.timeout,
    retries: h.retries,
    startPeriodMs: h.start_period,
  };
}
