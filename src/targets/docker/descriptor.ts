import type { TargetDescriptor } from '../../engine/target.js';
import { dockerConfigSchema, type DockerConfig } from './config.js';

/** What the docker target is and can do; loaded without its implementation (and without dockerode). */
export const dockerDescriptor: TargetDescriptor<DockerConfig> = {
  type: 'docker',
  summary: "containers on a Docker engine behind Gantry's proxy, images built from the app's Dockerfile (or a generated one) and pushed to a registry",
  configSchema: dockerConfigSchema,
  capabilities: { nodes: 'one', traffic: 'instance', health: 'engine', delivery: 'push', strategies: ['recreate', 'rolling', 'blue-green', 'canary'] },
};
