/**
 * Loaded manifests kept in the server process, keyed by what they are made from
 * (file, text, environment, a deployment's overrides): a deploy loaded its manifest
 * when it was queued and again in the worker, and parsing and validating it is most
 * of the API's own cost. Keyed by content, not mtime, so an edit is never missed;
 * each caller gets its own copy (the engine may annotate what it is handed).
 */
import type { LoadedManifest } from '../manifest/index.js';

const MAX_ENTRIES = 256;
export interface AppManifest {
  loaded: LoadedManifest;
  /** The target a deployment names by type, when it does. */
  target?: string;
}

const cache = new Map<string, AppManifest>();

export function cachedManifest(key: string, load: () => AppManifest): AppManifest {
  let hit = cache.get(key);
  if (hit) {
    // Most recently used last: the oldest goes first when the cache is full.
    cache.delete(key);
  } else {
    hit = load();
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
  }
  cache.set(key, hit);
  const { loaded, target } = hit;
  return { loaded: { ...loaded, manifest: structuredClone(loaded.manifest), raw: structuredClone(loaded.raw) }, target };
}

/** One key for a manifest's inputs (NUL-separated: no part holds a NUL). */
export const manifestKey = (...parts: (string | undefined)[]): string => parts.map((p) => p ?? '\u0001').join('\u0000');
