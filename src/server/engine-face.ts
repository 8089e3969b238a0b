/**
 * The engine as the server hands it its parts: the same Engine, registry, age
 * secret store and backup module as the CLI (src/cli/context.ts), with the
 * engine's state in `<data>/engine`. Events are routed to the job running that
 * app+target (one at a time per app+target, by the engine's lock and the queue).
 */
import { join } from 'node:path';
import { backupService } from '../backup/service.js';
import { Engine, type EngineEvent } from '../engine/index.js';
import { registry } from '../registry/index.js';
import { secretsUnder } from '../secrets/provider.js';
import type { SecretStore } from '../secrets/index.js';
import { Store } from '../store/index.js';

export interface EngineFace {
  engine: Engine;
  store: Store;
  stateDir: string;
  secrets(): Promise<SecretStore>;
  /** Send app+target's events to `fn` until the returned function is called. */
  route(app: string, target: string, fn: (e: EngineEvent) => void): () => void;
  close(): void;
}

export function openEngineFace(dataDir: string): EngineFace {
  const stateDir = join(dataDir, 'engine');
  const store = new Store(join(stateDir, 'state.db'));
  const { secrets, provider } = secretsUnder(stateDir);
  const routes = new Map<string, (e: EngineEvent) => void>();
  const key = (app: string, target: string) => `${app}\u0000${target}`;
  const onEvent = (e: EngineEvent) => routes.get(key(e.app, e.target))?.(e);
  const engine = new Engine({ store, registry, stateDir, actor: 'server', secrets: provider, backups: backupService, onEvent });
  return {
    engine,
    store,
    stateDir,
    secrets,
    route(app, target, fn) {
      routes.set(key(app, target), fn);
      return () => {
        if (routes.get(key(app, target)) === fn) routes.delete(key(app, target));
      };
    },
    close: () => store.close(),
  };
}
