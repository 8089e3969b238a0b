/** What every engine operation shares: the options handed in, the store, and event emission. */
import { capText } from '../core/bounded.js';
import { redactDeep, redactSecrets } from '../core/redact.js';
import type { Store } from '../store/index.js';
import type { EngineEventLevel, EngineOptions } from './types.js';

export interface EngineContext {
  readonly opts: EngineOptions;
  readonly store: Store;
  emit(where: { app: string; target: string; deploymentId?: string }, level: EngineEventLevel, message: string, step?: string, data?: unknown): void;
  /** Remember secret values this engine decrypted for `app`: they are redacted from captured output and events. */
  rememberSecrets(app: string, values: Record<string, string>): void;
  /** Hook, build and health-command output of `app` with its secret values replaced by `[redacted:NAME]`. */
  redactFor(app: string): (text: string) => string;
}

export function engineContext(opts: EngineOptions): EngineContext {
  const store = opts.store;
  // Every secret value decrypted, per app (value → NAME).
  const secretValues = new Map<string, Map<string, string>>();
  const knownSecrets = (app: string) => [...(secretValues.get(app) ?? [])].map(([value, name]) => [name, value] as const);
  return {
    opts,
    store,
    rememberSecrets(app, values) {
      const known = secretValues.get(app) ?? new Map<string, string>();
      for (const [name, value] of Object.entries(values)) known.set(value, name);
      secretValues.set(app, known);
    },
    redactFor(app) {
      return (text) => redactSecrets(text, knownSecrets(app));
    },
    emit(where: { app: string; target: string; deploymentId?: string }, level: EngineEventLevel, text: string, step?: string, rawData?: unknown): void {
      // Printed and stored: bounded whatever a command printed, and never a secret value.
      const message = capText(redactSecrets(text, knownSecrets(where.app)));
      const data = redactDeep(rawData, knownSecrets(where.app));
      // A passing line (a build's output, shown live on a terminal) is not an event worth keeping.
      const transient = (data as { transient?: boolean } | undefined)?.transient === true;
      const at = transient ? new Date().toISOString() : store.insertEvent({ app: where.app, target: where.target, deploymentId: where.deploymentId, level, message, step, data }).at;
      opts.onEvent?.({ at, level, app: where.app, target: where.target, deploymentId: where.deploymentId, step, message, data });
    },
  };
}
