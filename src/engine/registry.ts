import type { ZodType } from 'zod';
import type { Target, TargetDescriptor } from './target.js';

/**
 * How the engine finds targets: injected by the face (CLI, server), so the
 * engine imports none. Config schemas are at hand for validation; a target's
 * implementation (and its dependencies, e.g. dockerode) loads only when used.
 */
export interface TargetRegistry {
  types(): string[];
  configSchema(type: string): ZodType | undefined;
  /** Type, summary, config schema and capabilities, without loading the implementation. */
  describe(type: string): TargetDescriptor<any> | undefined;
  load(type: string): Promise<Target<any> | undefined>;
}
