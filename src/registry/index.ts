/**
 * The one place that knows every target. Faces (CLI, server) hand this to the
 * engine; a new target is added here and in its own folder, nowhere else.
 * Implementations are imported on first use, so a command on the process
 * target never loads the docker client (CLI start-up time is most of a deploy).
 */
import type { Target, TargetDescriptor, TargetRegistry } from '../engine/index.js';
import { dockerDescriptor } from '../targets/docker/descriptor.js';
import { kubernetesDescriptor } from '../targets/kubernetes/descriptor.js';
import { processDescriptor } from '../targets/process/descriptor.js';
import { sshDescriptor } from '../targets/ssh/descriptor.js';

const TARGETS: Record<string, { descriptor: TargetDescriptor<any>; load: () => Promise<Target<any>> }> = {
  process: { descriptor: processDescriptor, load: async () => (await import('../targets/process/index.js')).processTarget },
  docker: { descriptor: dockerDescriptor, load: async () => (await import('../targets/docker/index.js')).dockerTarget },
  ssh: { descriptor: sshDescriptor, load: async () => (await import('../targets/ssh/index.js')).sshTarget },
  kubernetes: { descriptor: kubernetesDescriptor, load: async () => (await import('../targets/kubernetes/index.js')).kubernetesTarget },
};

export const registry: TargetRegistry = {
  types: () => Object.keys(TARGETS),
  configSchema: (type) => TARGETS[type]?.descriptor.configSchema,
  describe: (type) => TARGETS[type]?.descriptor,
  load: async (type) => TARGETS[type]?.load(),
};
