import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import { Engine, type EngineEvent } from '../engine/index.js';
import { loadManifest, withEnvVars, type LoadedManifest } from '../manifest/index.js';
import { EnvStore } from './env-store.js';
import { registry } from '../registry/index.js';
import { backupService } from '../backup/service.js';
import { secretsUnder } from '../secrets/provider.js';
import type { SecretStore } from '../secrets/index.js';
import { Store } from '../store/index.js';
import { ensureStateDir } from './git-guard.js';
import { manifestNotFoundHint, manifestNotFoundMessage, type ManifestLocation } from './manifest-file.js';

export interface GlobalOptions {
  /** Absolute once `run()` located it (see manifest-file.ts). */
  file: string;
  /** How `file` was found, and the command's name: for the MANIFEST_NOT_FOUND hint of that command. */
  manifestHow?: ManifestLocation['how'];
  commandName?: string;
  target?: string;
  env?: string;
  json?: boolean;
}

/** `.gantry` beside the manifest, unless GANTRY_HOME says otherwise. */
export function stateDirFor(manifestFile: string): string {
  return process.env.GANTRY_HOME ? resolve(process.env.GANTRY_HOME) : join(dirname(resolve(manifestFile)), DEFAULTS.stateDirName);
}

export function manifestPath(opts: GlobalOptions): string {
  return resolve(opts.file || DEFAULTS.manifestFile);
}

/** The manifest's path, or MANIFEST_NOT_FOUND with the hint right for the command. */
export function requireManifest(opts: GlobalOptions): string {
  const file = manifestPath(opts);
  if (existsSync(file)) return file;
  const how = opts.manifestHow ?? 'given';
  throw new GantryError('MANIFEST_NOT_FOUND', manifestNotFoundMessage({ file, how }, process.cwd()), manifestNotFoundHint(opts.commandName ?? 'deploy', how));
}

/** The manifest as the file says, without the values set with `gantry env set`. */
export function loadFileOnly(opts: GlobalOptions): LoadedManifest {
  const file = requireManifest(opts);
  return loadManifest(file, {
    env: opts.env,
    knownTargetTypes: registry.types(),
    targetSchemas: (type) => registry.configSchema(type),
    targetCapabilities: (type) => registry.describe(type)?.capabilities,
  });
}

/** The manifest with the env layer of `gantry env set` over its env: what every command deploys. */
export function loadFor(opts: GlobalOptions): LoadedManifest {
  const loaded = loadFileOnly(opts);
  return withEnvVars(loaded, new EnvStore(stateDirFor(loaded.file)).effective(loaded.manifest.app, opts.env));
}

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

export interface Session {
  loaded: LoadedManifest;
  engine: Engine;
  store: Store;
  stateDir: string;
  /** The age store, loaded on first use (its crypto libraries are heavy to import). */
  secrets(): Promise<SecretStore>;
  close(): void;
}

export function openSession(opts: GlobalOptions, onEvent?: (e: EngineEvent) => void): Session {
  const loaded = loadFor(opts);
  const stateDir = stateDirFor(loaded.file);
  ensureStateDir(stateDir);
  const store = new Store(join(stateDir, 'state.db'));
  const { secrets, provider } = secretsUnder(stateDir);
  const engine = new Engine({ store, registry, stateDir, actor: actor(), secrets: provider, backups: backupService, onEvent });
  return { loaded, engine, store, stateDir, secrets, close: () => store.close() };
}
