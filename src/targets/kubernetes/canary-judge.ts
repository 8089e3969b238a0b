/**
 * How the kubernetes target judges a canary step (TargetRuntime.judgeCanary):
 * with `analysis.prometheus`, the query's value against `max` (as Flagger does);
 * otherwise the canary's pods: all Ready passes, a restart fails, else wait.
 */
import type { PodSummary } from './cluster.js';

export type Verdict = { verdict: 'pass' | 'fail' | 'inconclusive'; reasons: string[] };

/** The verdict from a Prometheus `/api/v1/query` answer (instant vector or scalar). */
export function prometheusVerdict(body: unknown, max: number, query: string): Verdict {
  const data = (body as { status?: string; data?: { resultType?: string; result?: unknown } })?.data;
  if ((body as { status?: string })?.status !== 'success' || !data) return { verdict: 'inconclusive', reasons: [`Prometheus did not answer the query ${query} with success`] };
  let raw: unknown;
  if (data.resultType === 'scalar') raw = (data.result as [number, string])[1];
  else if (data.resultType === 'vector') raw = (data.result as Array<{ value: [number, string] }>)[0]?.value[1];
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value)) return { verdict: 'inconclusive', reasons: [`no value yet for ${query}`] };
  return value > max ? { verdict: 'fail', reasons: [`${query} = ${value}, above ${max}`] } : { verdict: 'pass', reasons: [`${query} = ${value} (at most ${max})`] };
}

export async function queryPrometheus(address: string, query: string, max: number, timeoutMs: number): Promise<Verdict> {
  const url = `${address.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return prometheusVerdict(await res.json(), max, query);
  } catch (err) {
    return { verdict: 'inconclusive', reasons: [`Prometheus at ${address} did not answer: ${(err as Error).message}`] };
  }
}

/** Readiness gates: every canary pod Ready passes; a canary pod that restarted fails. */
export function readinessVerdict(pods: PodSummary[], restartsBefore = 0): Verdict {
  const restarts = pods.reduce((s, p) => s + p.restarts, 0);
  if (restarts > restartsBefore) return { verdict: 'fail', reasons: [`canary pods restarted ${restarts - restartsBefore} time(s)`] };
  const ready = pods.filter((p) => p.ready).length;
  if (pods.length > 0 && ready === pods.length) return { verdict: 'pass', reasons: [`${ready}/${pods.length} canary pods ready`] };
  return { verdict: 'inconclusive', reasons: [`${ready}/${pods.length} canary pods ready`] };
}
