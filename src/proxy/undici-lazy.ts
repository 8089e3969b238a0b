/**
 * undici, loaded on first use instead of at start: evaluating it is about a quarter of a
 * local agent's start, and an agent is ready (its proxy listening, its admin API up) before
 * anything needs it. The first health probe or proxied request loads it, usually while
 * the first instance is still booting.
 */
type Undici = typeof import('undici');

let loaded: Undici | undefined;
let loading: Promise<Undici> | undefined;

/** undici, loading it the first time. */
export function undici(): Promise<Undici> {
  return (loading ??= import('undici').then((m) => (loaded = m)));
}

/** undici when already loaded (a synchronous path), else undefined. */
export function undiciIfLoaded(): Undici | undefined {
  return loaded;
}
