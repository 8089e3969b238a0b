/**
 * A runtime opened on first use: a many-node target hands the engine one per node
 * without connecting to any of them, so an unreachable node fails inside its own step
 * (its own error, its own time limit) instead of failing the opening of the target.
 */
import { GantryError } from '../../core/errors.js';
import type { LogLine, TargetRuntime } from '../../engine/target.js';

export function lazyRuntime(open: () => Promise<TargetRuntime>, has: { stage: boolean }): TargetRuntime {
  let opening: Promise<TargetRuntime> | undefined;
  const real = () => (opening ??= open().catch((e: unknown) => {
    opening = undefined; // the next use tries again
    throw e;
  }));
  const forward =
    (name: keyof TargetRuntime) =>
    async (...args: unknown[]) => {
      const rt = await real();
      return (rt[name] as (...a: unknown[]) => unknown).apply(rt, args);
    };
  const methods: Array<keyof TargetRuntime> = ['ensureRouter', 'accessUrl', 'setRoutes', 'routes', 'drain', 'startInstance', 'stopInstance', 'stopInstanceLater', 'runTask', 'instances', 'probe', 'waitHealthy', 'trafficStats', 'instanceCpuSeconds', 'resetTrafficStats', 'markCurrent', 'shutdown'];
  const runtime = Object.fromEntries(methods.map((m) => [m, forward(m)])) as unknown as TargetRuntime;
  runtime.logs = (opts) => ({
    async *[Symbol.asyncIterator](): AsyncGenerator<LogLine> {
      yield* (await real()).logs(opts);
    },
  });
  if (has.stage) runtime.stage = forward('stage') as TargetRuntime['stage'];
  // Optional parts of the contract: answered by the real runtime when it has them (a read gives undefined when not).
  const optional =
    (name: 'setMaintenance' | 'maintenance' | 'retireFormerAccess' | 'instanceMemoryBytes' | 'exec', refuse?: string) =>
    async (...args: unknown[]) => {
      const rt = await real();
      const fn = rt[name] as ((...a: unknown[]) => unknown) | undefined;
      if (!fn) {
        if (refuse) throw new GantryError('USAGE', refuse, 'it needs a target behind Gantry\'s proxy');
        return undefined;
      }
      return fn.apply(rt, args);
    };
  runtime.setMaintenance = optional('setMaintenance', 'this node cannot serve a maintenance page') as TargetRuntime['setMaintenance'];
  runtime.maintenance = optional('maintenance') as TargetRuntime['maintenance'];
  runtime.retireFormerAccess = optional('retireFormerAccess') as TargetRuntime['retireFormerAccess'];
  runtime.instanceMemoryBytes = optional('instanceMemoryBytes') as TargetRuntime['instanceMemoryBytes'];
  runtime.exec = optional('exec', 'this node cannot run one-off commands') as TargetRuntime['exec'];
  // Closing what was never opened opens nothing.
  runtime.close = async () => {
    const o = opening;
    opening = undefined;
    if (o) await (await o.catch(() => undefined))?.close();
  };
  return runtime;
}
