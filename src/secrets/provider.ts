/**
 * The secret store under a state dir as the engine's SecretProvider (src/engine/types.ts)
 * takes it, for the CLI and the server alike. The age store is opened on first use: its
 * crypto libraries are heavy to import and most commands never read a secret.
 */
import { join } from 'node:path';
import { setCommand } from './command.js';
import { secretsDir } from './paths.js';
import type { SecretStore } from './store.js';

export function secretsUnder(stateDir: string) {
  let opened: Promise<SecretStore> | undefined;
  const secrets = (): Promise<SecretStore> => (opened ??= import('./index.js').then((m) => new m.SecretStore({ dir: secretsDir(stateDir) })));
  const provider = {
    resolve: async (app: string, env: string | undefined, names: string[]) => (await secrets()).resolve(app, env, names),
    atVersions: async (app: string, env: string | undefined, versions: Record<string, string>) => (await secrets()).atVersions(app, env, versions),
    setAtOf: async (app: string, env: string | undefined, name: string, version: string) => (await secrets()).setAtOf(app, env, name, version),
    setCommand: (name: string, env: string | undefined) => setCommand(name, env),
    appDir: (app: string) => join(secretsDir(stateDir), app),
  };
  return { secrets, provider };
}
