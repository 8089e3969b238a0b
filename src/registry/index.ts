/**
 * The one place that knows every target. Faces (CLI, server) hand this to the
 * engine; a new target is added here and in its own folder, nowhere else.
 */
import type { Target, TargetRegistry } from '../engine/index.js';
import { dockerTarget } from '../targets/docker/index.js';
import { processTarget } from '../targets/process/index.js';

const TARGETS: Target<any>[] = [processTarget, dockerTarget];

export const registry: TargetRegistry = {
  get: (type) => TARGETS.find((t) => t.type === type),
  types: () => TARGETS.map((t) => t.type),
};
