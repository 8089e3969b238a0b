/**
 * The one place that knows every target. Faces (CLI, server) hand this to the
 * engine; a new target is added here and in its own folder, nowhere else.
 * Implementations are imported on first use, so a command on the process
 * target never loads the docker client (CLI start-up time is most of a deploy).
 */
import type { ZodType } from 'zod';
import type { Target, TargetRegistry } from '../engine/index.js';
import { dockerConfigSchema } from '../targets/docker/config.js';
import { processConfigSchema } from '../targets/process/config.js';

const TARGETS: Record<string, { schema: ZodType; load: () => Promise<Target<any>> }> = {
  process: { schema: processConfigSchema, load: async () => (await import('../targets/process/index.js')).processTarget },
  docker: { schema: dockerConfigSchema, load: async () => (await import('../targets/docker/index.js')).dockerTarget },
};

export const registry: TargetRegistry = {
  types: () => Object.keys(TARGETS),
  configSchema: (type) => TARGETS[type]?.schema,
  load: async (type) => TARGETS[type]?.load(),
};
