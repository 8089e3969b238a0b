/** What every engine operation shares: the options handed in, the store, and event emission. */
import { capText } from '../core/bounded.js';
import type { Store } from '../store/index.js';
import type { EngineEventLevel, EngineOptions } from './types.js';

export interface EngineContext {
  readonly opts: EngineOptions;
  readonly store: Store;
  emit(where: { app: string; target: string; deploymentId?: string }, level: EngineEventLevel, message: string, step?: string, data?: unknown): void;
}

export function engineContext(opts: EngineOptions): EngineContext {
  const store = opts.store;
  return {
    opts,
    store,
    emit(where: { app: string; target: string; deploymentId?: string }, level: EngineEventLevel, text: string, step?: string, data?: unknown): void {
      const message = capText(text); // printed and stored: bounded whatever a command printed
      const e = store.insertEvent({ app: where.app, target: where.target, deploymentId: where.deploymentId, level, message, step, data });
      opts.onEvent?.({ at: e.at, level, app: where.app, target: where.target, deploymentId: where.deploymentId, step, message, data });
    },
  };
}
