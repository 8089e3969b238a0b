import type { TargetDescriptor } from '../../engine/target.js';
import { sshConfigSchema, type SshConfig } from './config.js';

/** What the ssh target is and can do; loaded without its implementation. */
export const sshDescriptor: TargetDescriptor<SshConfig> = {
  type: 'ssh',
  summary: 'hosts reached over SSH: Gantry\'s node agent and each instance as systemd units, behind Gantry\'s proxy on every host',
  configSchema: sshConfigSchema,
  capabilities: { nodes: 'many', traffic: 'instance', health: 'engine', delivery: 'push', strategies: ['recreate', 'rolling', 'blue-green', 'canary'] },
};
