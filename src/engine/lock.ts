import { hostname, userInfo } from 'node:os';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { LockRecord, Store } from '../store/index.js';
import { lockAlive } from './lock-liveness.js';

export function describeHolder(l: LockRecord): string {
  return `${l.holder} since ${l.acquiredAt}`;
}

/**
 * Per app+target deploy lock in the store. `wait` polls until the holder is done;
 * `onWait` is told once what we are waiting for (every wait names what it waits for).
 */
export async function acquireLock(
  store: Store,
  app: string,
  target: string,
  opts: { command: string; wait: boolean; onWait?: (holder: LockRecord) => void; onStale?: (stale: LockRecord) => void },
): Promise<() => void> {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  const me = { holder: `${user}@${hostname()} pid ${process.pid} (gantry ${opts.command})`, pid: process.pid, host: hostname() };
  let told = false;
  for (;;) {
    const { held, stale } = store.tryLock(app, target, me, (l) => lockAlive(l));
    if (!held) {
      if (stale) opts.onStale?.(stale);
      return holdLease(store, app, target, me.host);
    }
    if (!opts.wait) {
      throw new GantryError('LOCK_HELD', `another deploy of ${app} to ${target} is in progress: held by ${describeHolder(held)}`, 'wait for it to finish, or pass --wait to queue behind it', { holder: held });
    }
    if (!told) {
      opts.onWait?.(held);
      told = true;
    }
    await new Promise((r) => setTimeout(r, DEFAULTS.lockPollMs));
  }
}

/** Renew the lease while the lock is held (a timer that keeps no process alive); the returned function unlocks. */
function holdLease(store: Store, app: string, target: string, host: string): () => void {
  const timer = setInterval(() => {
    try {
      store.renewLock(app, target, process.pid, host);
    } catch {
      // The store is unreachable for now: the next renewal tries again (the lease outlasts two misses).
    }
  }, Math.max(1, Math.floor(DEFAULTS.lockLeaseMs / 3)));
  timer.unref();
  return () => {
    clearInterval(timer);
    store.unlock(app, target, process.pid, host);
  };
}
