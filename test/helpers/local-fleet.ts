/**
 * A many-node target for tests of the engine's batches, made of real parts:
 * each "node" is the process target with its own agent, proxy and processes
 * (its own state under the target's state dir). It is registered only in the
 * tests that use it; the ssh target is the product's many-node target.
 * `faults` lets a test make one node unhealthy or hang, by node name.
 */
import type { Target, TargetContext, TargetDescriptor, TargetNode, TargetRegistry, TargetRuntime } from '../../dist/engine/index.js';
import { registry } from '../../dist/registry/index.js';
import { processTarget } from '../../dist/targets/process/index.js';
import { FleetRuntime } from '../../dist/targets/shared/fleet-runtime.js';
import { z } from 'zod';

export interface FleetFaults {
  /** Instances started on these nodes turn unhealthy at once. */
  unhealthy: Set<string>;
  /** startInstance on these nodes never returns. */
  hang: Set<string>;
}

export const faults: FleetFaults = { unhealthy: new Set(), hang: new Set() };

const configSchema = z.strictObject({ nodes: z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1) });
type FleetConfig = z.infer<typeof configSchema>;

export const localFleetDescriptor: TargetDescriptor<FleetConfig> = {
  type: 'local-fleet',
  summary: 'test only: N local process "nodes", each with its own agent and proxy',
  configSchema,
  capabilities: { ...processTarget.capabilities, nodes: 'many' },
};

/** A node's context: its own target name (so its own agent, proxy port and paths) and its own settings. */
function nodeContext(ctx: TargetContext<FleetConfig>, node: string): TargetContext<any> {
  const key = `node:${node}`;
  const nodeCtx: TargetContext<any> = {
    ...ctx,
    targetName: `${ctx.targetName}-${node}`,
    config: processTarget.configSchema.parse({}),
    settings: (ctx.settings[key] as Record<string, unknown>) ?? {},
    saveSettings: (next) => {
      nodeCtx.settings = next;
      ctx.saveSettings({ ...ctx.settings, [key]: next });
    },
  };
  return nodeCtx;
}

function withFaults(node: string, runtime: TargetRuntime): TargetRuntime {
  const start = runtime.startInstance.bind(runtime);
  runtime.startInstance = async (req) => {
    if (faults.hang.has(node)) await new Promise(() => undefined);
    return start(faults.unhealthy.has(node) ? { ...req, env: { ...req.env, UNHEALTHY_AFTER_MS: '1' } } : req);
  };
  return runtime;
}

export const localFleet: Target<FleetConfig> = {
  ...localFleetDescriptor,
  validate: async () => [],
  doctor: async () => [],
  build: (input, ctx) => processTarget.build(input, ctx as never),
  removeArtifact: (artifact, ctx) => processTarget.removeArtifact(artifact, ctx as never),
  async nodes(ctx): Promise<TargetNode[]> {
    return ctx.config.nodes.map((name) => ({ name, runtime: async () => withFaults(name, await processTarget.runtime(nodeContext(ctx, name) as never)) }));
  },
  async runtime(ctx) {
    const nodes = await Promise.all(ctx.config.nodes.map(async (name) => ({ name, runtime: await processTarget.runtime(nodeContext(ctx, name) as never) })));
    return new FleetRuntime(nodes);
  },
};

/** The product's registry plus the test fleet. */
export const fleetRegistry: TargetRegistry = {
  types: () => [...registry.types(), 'local-fleet'],
  configSchema: (type) => (type === 'local-fleet' ? configSchema : registry.configSchema(type)),
  describe: (type) => (type === 'local-fleet' ? localFleetDescriptor : registry.describe(type)),
  load: async (type) => (type === 'local-fleet' ? localFleet : registry.load(type)),
};
