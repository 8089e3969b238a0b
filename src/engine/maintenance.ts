/** `gantry maintenance on|off`: the access point answers 503 with a page while the instances keep running. */
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { open } from './open.js';
import { currentRelease } from './releases.js';
import type { MaintenanceState } from './target.js';

export interface MaintenanceResult {
  app: string;
  target: string;
  maintenance: boolean;
  message?: string;
  retry_after_s?: number;
  since?: string;
  url?: string;
}

/**
 * No deploy lock: maintenance is meant for while something else happens (a migration,
 * a deploy); the proxy holds the mode itself, in its agent's persisted state.
 */
export async function maintenance(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { on: boolean; message?: string }): Promise<MaintenanceResult> {
  const o = await open(engine, loaded, targetName);
  try {
    currentRelease(engine, o);
    if (!o.runtime.setMaintenance) throw new GantryError('USAGE', `target ${o.name} (${o.target.type}) cannot serve a maintenance page`, 'maintenance mode needs a target behind Gantry\'s proxy (process, docker, ssh)');
    const state: MaintenanceState | undefined = opts.on ? { ...(opts.message ? { message: opts.message } : {}), retryAfterSeconds: DEFAULTS.maintenance.retryAfterSeconds, since: new Date().toISOString() } : undefined;
    await o.runtime.setMaintenance(state);
    engine.store.audit(engine.opts.actor, opts.on ? 'maintenance on' : 'maintenance off', o.app, o.name, state ? { message: state.message } : undefined);
    engine.emit({ app: o.app, target: o.name }, opts.on ? 'warn' : 'info', opts.on ? 'maintenance mode on: requests get 503 with a maintenance page; instances keep running' : 'maintenance mode off: requests reach the app again', 'maintenance');
    return { app: o.app, target: o.name, maintenance: opts.on, message: state?.message, retry_after_s: state?.retryAfterSeconds, since: state?.since, url: await o.runtime.accessUrl() };
  } finally {
    await o.runtime.close();
  }
}
