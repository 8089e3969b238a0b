/**
 * Registered apps: where each one's manifest is, loaded on every operation (an edit
 * to the file is picked up like the CLI would). A deployment through
 * /deploy/unified may override the target's config and env for that deployment.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Kysely, Selectable } from 'kysely';
import { parseDocument } from 'yaml';
import { GantryError } from '../core/errors.js';
import { loadManifest, validateManifestSource, invalidManifestError, type LoadedManifest, type LoadOptions } from '../manifest/index.js';
import { registry } from '../registry/index.js';
import type { AppsTable, ServerDatabase } from './db/schema.js';
import { ApiError, notFound } from './http/api-error.js';
import { nowIso } from './ids.js';
import { cachedManifest, manifestKey, type AppManifest } from './manifest-cache.js';

export type AppRow = Selectable<AppsTable>;

export const LOAD_OPTS: LoadOptions = {
  knownTargetTypes: registry.types(),
  targetSchemas: (type) => registry.configSchema(type),
  targetCapabilities: (type) => registry.describe(type)?.capabilities,
};

export interface Overrides {
  /** The target to deploy to when it is named by type (deployment_type) rather than by name. */
  targetType?: string;
  platformConfig?: Record<string, unknown>;
  envVars?: Record<string, string>;
  env?: string;
  /** Deploy this checkout of the app instead of its registered directory (its gantry.yaml, else the registered manifest text). */
  sourceDir?: string;
}

/** The manifest of an app, with a deployment's overrides applied before validation (so they are checked like the file). */
export function loadApp(app: AppRow, ov: Overrides = {}): AppManifest {
  const checkout = ov.sourceDir && existsSync(join(ov.sourceDir, 'gantry.yaml')) ? join(ov.sourceDir, 'gantry.yaml') : undefined;
  const file = checkout ?? (ov.sourceDir ? join(ov.sourceDir, 'gantry.yaml') : (app.manifest_path ?? join(app.source_dir ?? '/', 'gantry.yaml')));
  const plain = !ov.platformConfig && !ov.envVars && !ov.targetType;
  const path = checkout ?? (ov.sourceDir ? undefined : (app.manifest_path ?? undefined));
  if (plain && path) {
    // A file that cannot be read is reported as the CLI reports it.
    const text = readIfPossible(path);
    if (text === undefined) return { loaded: loadManifest(path, { ...LOAD_OPTS, env: ov.env }) };
    return cachedManifest(manifestKey(path, ov.env, text), () => ({ loaded: validated(text, path, ov.env) }));
  }
  // A checkout without its own gantry.yaml is deployed with the registered manifest (its directory being the checkout).
  const text = checkout ? readText(checkout) : (app.manifest_text ?? readText(app.manifest_path ?? file));
  const overrides = JSON.stringify([ov.targetType ?? null, ov.platformConfig ?? null, ov.envVars ?? null]);
  return cachedManifest(manifestKey(file, ov.env, text, overrides), () => withOverrides(text, file, ov));
}

function withOverrides(text: string, file: string, ov: Overrides): AppManifest {
  const doc = parseDocument(text);
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  let target: string | undefined;
  if (ov.targetType) {
    const targets = (raw.targets ?? {}) as Record<string, Record<string, unknown>>;
    target = Object.keys(targets).find((n) => targets[n]?.type === ov.targetType);
    if (!target) {
      if (!registry.types().includes(ov.targetType)) throw new ApiError(400, 'TARGET_UNKNOWN', `no target type "${ov.targetType}"`, `one of: ${registry.types().join(', ')}`);
      target = ov.targetType;
      doc.setIn(['targets', target], { type: ov.targetType });
    }
    for (const [k, v] of Object.entries(ov.platformConfig ?? {})) doc.setIn(['targets', target, k], v);
  }
  for (const [k, v] of Object.entries(ov.envVars ?? {})) doc.setIn(['env', k], v);
  return { loaded: validated(doc.toString(), file, ov.env), target };
}

function validated(text: string, file: string, env: string | undefined): LoadedManifest {
  const r = validateManifestSource(text, file, { ...LOAD_OPTS, env });
  if (!r.manifest) throw invalidManifestError(r.problems);
  return r.manifest;
}

function readIfPossible(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new GantryError('MANIFEST_NOT_FOUND', `no manifest at ${file}`, 'register the app again with a manifest path that exists');
  }
}

/** Register an app from a manifest path, or from manifest text plus the directory holding its source. */
export async function registerApp(db: Kysely<ServerDatabase>, projectId: string, input: { manifest_path?: string; manifest?: string; source_dir?: string }, maxApps: number): Promise<AppRow> {
  let row: AppRow;
  if (input.manifest_path) {
    if (!isAbsolute(input.manifest_path)) throw new ApiError(400, 'USAGE', 'manifest_path must be absolute', 'give the full path of gantry.yaml on the server');
    let file = resolve(input.manifest_path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'gantry.yaml');
    if (!existsSync(file)) throw new GantryError('MANIFEST_NOT_FOUND', `no manifest at ${file}`, 'give the path of a gantry.yaml readable by the server');
    const loaded = loadManifest(file, LOAD_OPTS);
    row = { name: loaded.manifest.app, project_id: projectId, manifest_path: file, manifest_text: null, source_dir: dirname(file), created_at: nowIso() };
  } else if (input.manifest !== undefined) {
    if (!input.source_dir || !isAbsolute(input.source_dir) || !existsSync(input.source_dir) || !statSync(input.source_dir).isDirectory()) {
      throw new ApiError(400, 'USAGE', 'source_dir must be an absolute path of a directory on the server', 'the app is built from there');
    }
    const r = validateManifestSource(input.manifest, join(input.source_dir, 'gantry.yaml'), LOAD_OPTS);
    if (!r.manifest) throw invalidManifestError(r.problems);
    row = { name: r.manifest.manifest.app, project_id: projectId, manifest_path: null, manifest_text: input.manifest, source_dir: resolve(input.source_dir), created_at: nowIso() };
  } else {
    throw new ApiError(400, 'USAGE', 'give manifest_path, or manifest and source_dir', 'e.g. {"manifest_path": "/srv/app/gantry.yaml"}');
  }
  return db.transaction().execute(async (trx) => {
    const existing = await trx.selectFrom('apps').selectAll().where('name', '=', row.name).executeTakeFirst();
    if (existing && existing.project_id !== projectId) throw new ApiError(409, 'CONFLICT', `an app named ${row.name} is registered in another project`, 'app names are unique on a server: rename the app in its manifest');
    if (existing) {
      await trx.updateTable('apps').set({ manifest_path: row.manifest_path, manifest_text: row.manifest_text, source_dir: row.source_dir }).where('name', '=', row.name).execute();
      return { ...row, created_at: existing.created_at };
    }
    const count = await trx.selectFrom('apps').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst();
    if (Number(count?.n ?? 0) >= maxApps) throw new ApiError(409, 'QUOTA_EXCEEDED', `the project has its ${maxApps} apps already`, 'remove an app or raise the project quota max_apps');
    await trx.insertInto('apps').values(row).execute();
    return row;
  });
}

/** The app if the key's project holds it; another project's app is "not found" (never "forbidden"). */
export async function appFor(db: Kysely<ServerDatabase>, name: string, projectId: string | null): Promise<AppRow> {
  const row = await db.selectFrom('apps').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row || (projectId !== null && row.project_id !== projectId)) throw notFound(`app ${name}`);
  return row;
}
