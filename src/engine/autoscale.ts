/**
 * Autoscaling decisions, as pure functions (unit-tested without engines). Like
 * Kubernetes' HPA: desired = ceil(current × observed / target), clamped to
 * [min, max], with a cooldown between two changes so the count does not flap.
 */
export interface AutoscalePolicy {
  min: number;
  max: number;
  /** Target CPU per instance, in percent of one core. */
  cpuPercent?: number;
  /** Target in-flight requests per instance. */
  concurrency?: number;
  cooldownMs: number;
}

export interface LoadSample {
  /** Average CPU per instance over the last interval, percent of one core. */
  cpuPercent?: number;
  /** Average in-flight requests per instance. */
  inflight?: number;
}

export interface ScaleDecision {
  desired: number;
  reason: string;
}

/** Ignore changes within ±10% of the target, as the HPA does, so noise does not scale. */
const TOLERANCE = 0.1;

export function decideScale(current: number, load: LoadSample, policy: AutoscalePolicy, sinceLastChangeMs: number): ScaleDecision | undefined {
  const wants: Array<{ n: number; why: string }> = [];
  if (policy.cpuPercent !== undefined && load.cpuPercent !== undefined) {
    const ratio = load.cpuPercent / policy.cpuPercent;
    if (Math.abs(ratio - 1) > TOLERANCE) wants.push({ n: Math.ceil(current * ratio), why: `cpu ${load.cpuPercent.toFixed(0)}% per instance vs target ${policy.cpuPercent}%` });
    else wants.push({ n: current, why: '' });
  }
  if (policy.concurrency !== undefined && load.inflight !== undefined) {
    const ratio = load.inflight / policy.concurrency;
    if (Math.abs(ratio - 1) > TOLERANCE) wants.push({ n: Math.ceil(current * ratio), why: `${load.inflight.toFixed(1)} in-flight requests per instance vs target ${policy.concurrency}` });
    else wants.push({ n: current, why: '' });
  }
  if (wants.length === 0) return undefined;
  // The metric asking for the most instances wins (never starve one to satisfy another).
  const top = wants.reduce((a, b) => (b.n > a.n ? b : a));
  const desired = Math.min(policy.max, Math.max(policy.min, top.n));
  if (current < policy.min || current > policy.max) return { desired, reason: `outside autoscale bounds [${policy.min}, ${policy.max}]` };
  if (desired === current || sinceLastChangeMs < policy.cooldownMs) return undefined;
  return { desired, reason: `${top.why || 'load within target'} → ${desired} instance${desired === 1 ? '' : 's'}` };
}

/** CPU percent of one core from two cumulative CPU-seconds readings. */
export function cpuPercentBetween(prevCpuSeconds: number, nextCpuSeconds: number, wallMs: number): number {
  if (wallMs <= 0) return 0;
  return Math.max(0, ((nextCpuSeconds - prevCpuSeconds) * 1000 * 100) / wallMs);
}
