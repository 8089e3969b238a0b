/** When a deploy lock's holder counts as gone: its pid on this host, its lease from another. */
import { describe, expect, it } from 'vitest';
import { lockAlive, type LivenessView } from '../../src/engine/lock-liveness.js';
import type { LockRecord } from '../../src/store/index.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const lock = (over: Partial<LockRecord>): LockRecord => ({ app: 'a', target: 't', holder: 'h', pid: 42, host: 'here', acquiredAt: new Date(T0).toISOString(), renewedAt: new Date(T0).toISOString(), ...over });
const view = (over: Partial<LivenessView>): LivenessView => ({ host: 'here', now: T0, leaseMs: 30_000, pidAlive: () => true, ...over });

describe('lock liveness', () => {
  it('on this host the pid decides, whatever the lease says', () => {
    expect(lockAlive(lock({}), view({ now: T0 + 10 * 60_000 }))).toBe(true);
    expect(lockAlive(lock({}), view({ pidAlive: (pid) => pid !== 42 }))).toBe(false);
  });

  it('from another host: live while renewed within the lease, stale after it', () => {
    const far = lock({ host: 'elsewhere', renewedAt: new Date(T0 + 5_000).toISOString() });
    expect(lockAlive(far, view({ now: T0 + 5_000 + 29_999, pidAlive: () => false }))).toBe(true);
    expect(lockAlive(far, view({ now: T0 + 5_000 + 30_000 }))).toBe(false);
    expect(lockAlive(far, view({ now: T0 + 5_000 + 30_000, leaseMs: 60_000 }))).toBe(true);
  });

  it('from another host with no renewal recorded (a Gantry that does not renew): live, as before', () => {
    expect(lockAlive(lock({ host: 'elsewhere', renewedAt: undefined }), view({ now: T0 + 3_600_000 }))).toBe(true);
  });
});
