/** The frame of every changing command: lock the app+target, reconcile interrupted work, run, unlock. */
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { acquireLock } from './lock.js';
import { open } from './open.js';
import { reconcileLocked } from './reconcile.js';
import type { Opened, ReconcileReport } from './types.js';

/** Lock, reconcile interrupted work, run, unlock. */
export async function withTarget<T>(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, command: string, wait: boolean, fn: (o: Opened, reconciled: ReconcileReport[]) => Promise<T>): Promise<T> {
  const o = await open(engine, loaded, targetName);
  const unlock = await acquireLock(engine.store, o.app, o.name, {
    command,
    wait,
    onWait: (h) => engine.emit({ app: o.app, target: o.name }, 'info', `waiting for the deploy lock held by ${h.holder} since ${h.acquiredAt}`, 'lock'),
    onStale: (s) => engine.emit({ app: o.app, target: o.name }, 'warn', `took over a stale lock of ${s.holder} (process gone)`, 'lock'),
  });
  try {
    o.record = engine.store.getTarget(o.app, o.name)!;
    const reconciled = await reconcileLocked(engine, o);
    o.record = engine.store.getTarget(o.app, o.name)!;
    return await fn(o, reconciled);
  } finally {
    unlock();
    await o.runtime.close();
  }
}
