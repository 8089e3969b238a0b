/**
 * The engine as the server hands it its parts: the same Engine, registry, age
 * secret store and backup module as the CLI (src/cli/context.ts). The engine's state
 * is in `<data>/engine/state.db`, or, when the server's database is PostgreSQL, in that
 * database (so replicas with data dirs of their own share it); secrets and runtime
 * files stay in `<data>/engine` either way. Events are routed to the job running that
 * app+target (one at a time per app+target, by the engine's lock and the queue).
 */
import { join } from 'node:path';
import { backupService } from '../backup/service.js';
import { Engine, type EngineEvent } from '../engine/index.js';
import { registry } from '../registry/index.js';
import { secretsUnder } from '../secrets/provider.js';
import type { SecretStore } from '../secrets/index.js';
import { SqliteStore, type Store } from '../store/index.js';
import { PgStore } from '../store/pg/pg-store.js';

export interface EngineFace {
  engine: Engine;
  store: Store;
  stateDir: string;
  secrets(): Promise<SecretStore>;
  /** Send app+target's events to `fn` until the returned function is called. */
  route(app: string, target: string, fn: (e: EngineEvent) => void): () => void;
  close(): void;
}

const isPostgresUrl = (database: string | undefined): database is string => database !== undefined && /^postgres(ql)?:\/\//.test(database);

export function openEngineFace(dataDir: string, database?: string): EngineFace {
  const stateDir = join(dataDir, 'engine');
  const store: Store = isPostgresUrl(database) ? new PgStore({ url: database, scratchDir: stateDir }) : new SqliteStore(join(stateDir, 'state.db'));
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
