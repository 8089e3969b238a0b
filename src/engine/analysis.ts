import { DEFAULTS } from '../core/defaults.js';

export interface ReleaseFigures {
  release: string;
  requests: number;
  errors5xx: number;
  connectErrors: number;
  errorRate: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
}

export interface AnalysisLimits {
  maxErrorRate: number;
  maxP99Ms?: number;
  minRequests: number;
}

export interface AnalysisVerdict {
  percent: number;
  verdict: 'pass' | 'fail' | 'inconclusive';
  reasons: string[];
  canary: ReleaseFigures;
  stable?: ReleaseFigures;
}

export function resolveLimits(a: { max_error_rate?: number; max_p99_ms?: number; min_requests?: number } | undefined): AnalysisLimits {
  const d = DEFAULTS.strategy.analysis;
  return { maxErrorRate: a?.max_error_rate ?? d.maxErrorRate, maxP99Ms: a?.max_p99_ms, minRequests: a?.min_requests ?? d.minRequests };
}

const empty = (release: string): ReleaseFigures => ({ release, requests: 0, errors5xx: 0, connectErrors: 0, errorRate: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0 });

/**
 * Judge a canary step against the stable release. Too few requests is
 * "inconclusive", never a failure. The error rate may exceed the stable
 * release's by at most `maxErrorRate` (so a canary is not blamed for a
 * backend both share); p99 is an absolute ceiling.
 */
export function judgeCanary(percent: number, canaryIn: ReleaseFigures | undefined, stable: ReleaseFigures | undefined, limits: AnalysisLimits, canaryRelease: string): AnalysisVerdict {
  const canary = canaryIn ?? empty(canaryRelease);
  const reasons: string[] = [];
  if (canary.requests < limits.minRequests) {
    return { percent, verdict: 'inconclusive', reasons: [`only ${canary.requests} of ${limits.minRequests} requests needed reached the canary`], canary, stable };
  }
  const excess = canary.errorRate - (stable?.errorRate ?? 0);
  if (excess > limits.maxErrorRate) {
    reasons.push(`error rate ${(canary.errorRate * 100).toFixed(1)}% vs stable ${((stable?.errorRate ?? 0) * 100).toFixed(1)}% (allowed excess ${(limits.maxErrorRate * 100).toFixed(1)}%)`);
  }
  if (limits.maxP99Ms !== undefined && canary.p99Ms > limits.maxP99Ms) reasons.push(`p99 ${canary.p99Ms.toFixed(1)}ms above ${limits.maxP99Ms}ms`);
  return { percent, verdict: reasons.length ? 'fail' : 'pass', reasons, canary, stable };
}

/** A verdict the platform gave (TargetRuntime.judgeCanary): no figures of Gantry's proxy behind it. */
export function platformVerdict(percent: number, canaryRelease: string, r: { verdict: AnalysisVerdict['verdict']; reasons: string[] }): AnalysisVerdict {
  return { percent, verdict: r.verdict, reasons: r.reasons, canary: empty(canaryRelease) };
}
