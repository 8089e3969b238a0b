import type { Target } from './target.js';

/** How the engine finds targets: injected by the face (CLI, server), so the engine imports none. */
export interface TargetRegistry {
  get(type: string): Target<any> | undefined;
  types(): string[];
}
