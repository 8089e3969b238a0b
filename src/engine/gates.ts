/** The gates a rollout waits at after traffic moves: canary analysis steps and the post-switch watch window. */
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import { sleep } from './abort.js';
import { judgeCanary, platformVerdict, resolveLimits, type AnalysisVerdict } from './analysis.js';
import type { resolveHealth } from './health.js';
import type { Step } from './plan.js';
import type { ObservedInstance } from './target.js';
import type { EngineEventLevel, Opened } from './types.js';

export class CanaryFailedError extends GantryError {
  constructor(
    readonly verdict: AnalysisVerdict,
    message = `canary failed its analysis at ${verdict.percent}%: ${verdict.reasons.join('; ')}`,
  ) {
    super('CANARY_FAILED', message, 'traffic went back to the stable release; the figures are in the analysis of the result', { analysis: verdict });
  }
}

/**
 * One canary step: hold the split, judge the canary against the stable
 * release every few hundred ms, abort at the first failing verdict. A timed
 * pause extends while the data is inconclusive (bounded); a manual pause
 * waits for `gantry promote` / `gantry abort`.
 */
export async function analyzeCanary(store: Store, o: Opened, deploymentId: string, step: Extract<Step, { kind: 'analyze' }>, stable: string | undefined, emit: (level: EngineEventLevel, message: string, step?: string, data?: unknown) => void, signal?: AbortSignal): Promise<AnalysisVerdict> {
  const limits = resolveLimits(o.manifest.strategy.analysis);
  const d = DEFAULTS.strategy.analysis;
  await o.runtime.resetTrafficStats();
  const started = Date.now();
  const manual = step.pause === 'manual';
  const pauseMs = manual ? Number.POSITIVE_INFINITY : (step.pause as number);
  const giveUpMs = manual ? Number.POSITIVE_INFINITY : Math.max(pauseMs * d.maxPauses, pauseMs + 30_000);
  store.updateDeployment(deploymentId, { waiting: manual ? `\`gantry promote\` or \`gantry abort\` (canary at ${step.percent}%)` : `canary analysis at ${step.percent}% (${Math.round(pauseMs / 1000)}s window)` });
  emit('info', `canary at ${step.percent}%: ${manual ? 'paused until `gantry promote` or `gantry abort`' : `analysis for ${Math.round(pauseMs / 1000)}s`}`, 'analyze', { live: { label: `canary at ${step.percent}%: ${manual ? 'waiting for `gantry promote` / `gantry abort`' : 'analysis'}`, totalMs: manual ? undefined : pauseMs } });
  let told = false;
  for (;;) {
    await sleep(d.checkEveryMs, signal);
    // `gantry abort` and Ctrl-C arrive here through the signal (see abort.ts).
    signal?.throwIfAborted();
    const verdict = await judgeStep(o, step, stable, limits);
    if (verdict.verdict === 'fail') throw new CanaryFailedError(verdict);
    const control = store.getDeployment(deploymentId)?.control;
    const elapsed = Date.now() - started;
    if (manual && control === 'promote') {
      store.updateDeployment(deploymentId, { control: undefined });
      emit('info', `promoted by \`gantry promote\` at ${step.percent}%`, 'analyze', verdict);
      return verdict;
    }
    if (!manual && elapsed >= pauseMs) {
      if (verdict.verdict === 'pass') {
        emit('info', `canary at ${step.percent}%: pass (${verdict.reasons.length ? verdict.reasons.join('; ') : `${verdict.canary.requests} requests, error rate ${(verdict.canary.errorRate * 100).toFixed(1)}%, p99 ${verdict.canary.p99Ms.toFixed(1)}ms`})`, 'analyze', verdict);
        return verdict;
      }
      if (elapsed >= giveUpMs) throw new CanaryFailedError(verdict, `canary at ${step.percent}% stayed inconclusive for ${Math.round(elapsed / 1000)}s: ${verdict.reasons.join('; ')}`);
      if (!told) emit('info', `canary at ${step.percent}%: inconclusive (${verdict.reasons.join('; ')}); extending the window`, 'analyze', verdict);
      told = true;
    }
  }
}

/** The platform's own verdict when the runtime gives one, else the proxy's figures of canary and stable. */
async function judgeStep(o: Opened, step: Extract<Step, { kind: 'analyze' }>, stable: string | undefined, limits: ReturnType<typeof resolveLimits>): Promise<AnalysisVerdict> {
  if (o.runtime.judgeCanary) return platformVerdict(step.percent, step.release, await o.runtime.judgeCanary({ release: step.release, percent: step.percent, stable }));
  const stats = await o.runtime.trafficStats();
  const find = (rel?: string) => stats?.releases.find((r) => r.release === rel);
  return judgeCanary(step.percent, find(step.release), find(stable), limits, step.release);
}

/**
 * The watch window after full promotion (Nomad stops at the first healthy
 * report; this keeps looking): `retries` failed probes in a row of any new
 * instance, or any exit or restart of one (a crash loop the supervisor keeps
 * bringing back can answer most probes), fail the deploy, and the caller
 * switches back to the warm previous release.
 */
export async function watchAfterSwitch(store: Store, o: Opened, deploymentId: string, step: Extract<Step, { kind: 'watch' }>, health: ReturnType<typeof resolveHealth>, emit: (level: EngineEventLevel, message: string, step?: string, data?: unknown) => void, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  const until = started + step.ms;
  store.updateDeployment(deploymentId, { waiting: `the watch window: health of ${step.instances.length} new instance(s) until ${new Date(until).toISOString()}` });
  emit('info', `watching ${step.instances.length} instance(s) for ${step.ms}ms; the previous release stays warm`, 'watch', { live: { label: 'watch window (the previous release stays warm)', totalMs: step.ms } });
  const fail = (id: string, detail: string): never => {
    throw new GantryError('WATCH_FAILED', `release ${step.release} turned unhealthy ${((Date.now() - started) / 1000).toFixed(1)}s after the switch, inside the ${step.ms / 1000}s watch window (${id}: ${detail})`, 'the previous release was switched back in; `gantry logs` shows what the new one printed');
  };
  // How each instance looked when the window opened: any later exit or restart is a failure.
  const baseline = new Map((await o.runtime.instances()).map((i) => [i.id, runMark(i)]));
  const failures = new Map<string, number>();
  while (Date.now() < until) {
    await sleep(Math.min(health.intervalMs, Math.max(0, until - Date.now())), signal);
    signal?.throwIfAborted();
    const observed = new Map((await o.runtime.instances()).map((i) => [i.id, i]));
    for (const id of step.instances) {
      const inst = observed.get(id);
      const before = baseline.get(id);
      if (inst && before) {
        const changed = restartedSince(before, runMark(inst));
        if (changed) fail(id, changed);
      }
      const p = inst && inst.state === 'running' ? await o.runtime.probe(inst, health) : { ok: false, detail: `instance is ${inst?.state ?? 'gone'}` };
      const n = p.ok ? 0 : (failures.get(id) ?? 0) + 1;
      failures.set(id, n);
      if (n >= health.retries) fail(id, p.detail);
    }
  }
  emit('info', `watch window passed: the new release stayed healthy for ${step.ms}ms`, 'watch');
}

interface RunMark {
  restarts: number;
  startedAt?: string;
  exitAt?: string;
  exit?: string;
}

function runMark(i: ObservedInstance): RunMark {
  const e = i.lastExit;
  return { restarts: i.restarts, startedAt: i.startedAt, exitAt: e?.at, exit: e ? (e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`) : undefined };
}

/** Why this instance is not the run the window started with, if it is not. */
function restartedSince(before: RunMark, now: RunMark): string | undefined {
  if (now.exitAt !== before.exitAt) return `the instance ${now.exit ?? 'exited'} during the watch window`;
  if (now.restarts > before.restarts) return `the instance was restarted ${now.restarts - before.restarts} time(s) during the watch window`;
  if (now.startedAt !== before.startedAt) return 'the instance was started again during the watch window';
  return undefined;
}
