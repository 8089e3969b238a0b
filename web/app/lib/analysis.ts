/** Canary analysis figures out of a deployment's `analyze` events (live) and its result (final). */
import type { StepEvent } from '../api/types';

export interface AnalysisPoint {
  percent: number;
  /** Shown instead of the percent (e.g. a release in the live figures). */
  label?: string;
  verdict: string;
  requests: number;
  errorRate: number;
  p99Ms: number;
  stableErrorRate?: number;
  stableP99Ms?: number;
}

interface Verdict {
  percent: number;
  verdict: string;
  canary: { requests: number; errorRate: number; p99Ms: number };
  stable?: { errorRate: number; p99Ms: number };
}

const isVerdict = (v: any): v is Verdict => v && typeof v.percent === 'number' && v.canary && typeof v.canary.errorRate === 'number';

export function analysisPoints(events: StepEvent[], result?: Record<string, any>): AnalysisPoint[] {
  const verdicts: Verdict[] = events.filter((e) => e.step === 'analyze' && isVerdict(e.data)).map((e) => e.data as Verdict);
  if (verdicts.length === 0 && Array.isArray(result?.analysis)) verdicts.push(...(result!.analysis as unknown[]).filter(isVerdict));
  return verdicts.map((v) => ({ percent: v.percent, verdict: v.verdict, requests: v.canary.requests, errorRate: v.canary.errorRate, p99Ms: v.canary.p99Ms, stableErrorRate: v.stable?.errorRate, stableP99Ms: v.stable?.p99Ms }));
}

/** The proxy's live figures per release (status `traffic.releases`), the canary's marked. */
export function trafficPoints(traffic: any, canaryRelease?: string): AnalysisPoint[] {
  const releases: any[] = Array.isArray(traffic?.releases) ? traffic.releases : [];
  return releases.map((r) => ({
    percent: 0,
    // A release id is <UTC time>-<content hash>: the time tells two builds of the same content apart.
    label: `${r.release === canaryRelease ? 'canary' : 'stable'} ${String(r.release).split('-')[0]!.slice(9, 15)}`,
    verdict: r.release === canaryRelease ? 'canary' : 'stable',
    requests: Number(r.requests ?? 0),
    errorRate: Number(r.errorRate ?? 0),
    p99Ms: Number(r.p99Ms ?? 0),
  }));
}
