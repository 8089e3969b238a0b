export * from './engine.js';
export * from './types.js';
export { CanaryFailedError } from './gates.js';
export * from './target.js';
export * from './registry.js';
export * from './plan.js';
export { hashSource } from './source.js';
export { validateTargets, assertTargetValid, type TargetValidation } from './validate-targets.js';
export type { HostOption } from './hosts.js';
