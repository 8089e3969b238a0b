import type { TargetDescriptor } from '../../engine/target.js';
import { processConfigSchema, type ProcessConfig } from './config.js';

/** What the process target is and can do; loaded without its implementation. */
export const processDescriptor: TargetDescriptor<ProcessConfig> = {
  type: 'process',
  summary: 'local processes supervised by a detached Gantry agent, behind Gantry\'s proxy',
  configSchema: processConfigSchema,
  capabilities: { nodes: 'one', traffic: 'instance', health: 'engine', delivery: 'push', strategies: ['recreate', 'rolling', 'blue-green', 'canary'] },
};
