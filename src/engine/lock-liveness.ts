import { hostname } from 'node:os';
import { DEFAULTS } from '../core/defaults.js';
import { pidAlive } from '../core/pid.js';
import type { LockRecord } from '../store/index.js';

export interface LivenessView {
  host: string;
  now: number;
  leaseMs: number;
  pidAlive: (pid: number) => boolean;
}

const here = (): LivenessView => ({ host: hostname(), now: Date.now(), leaseMs: DEFAULTS.lockLeaseMs, pidAlive });

/**
 * Is the lock's holder still there? On this host: while its process runs. From another host
 * (a shared store): while it renews its lease. A lock from another host with no renewal
 * recorded was taken by a Gantry that does not renew: it counts as live, as it always did.
 */
export function lockAlive(l: LockRecord, view: LivenessView = here()): boolean {
  if (l.host === view.host) return view.pidAlive(l.pid);
  if (!l.renewedAt) return true;
  const renewed = Date.parse(l.renewedAt);
  return Number.isNaN(renewed) || view.now - renewed < view.leaseMs;
}
