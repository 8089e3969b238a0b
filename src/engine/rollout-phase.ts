/** What a deployment in progress is doing now, from its stored steps: for `gantry status` while a rollout runs. */
import type { DeploymentRecord, StepRecord } from '../store/index.js';

const PHASES: Record<string, string> = {
  build: 'building',
  hook: 'running a hook',
  stage: 'staging the release',
  startInstance: 'starting new instances',
  checkHealth: 'health gate',
  switchTraffic: 'switching traffic',
  analyze: 'canary analysis',
  watch: 'watch window',
  drain: 'retiring the old instances',
  stopInstance: 'retiring the old instances',
  keepWarm: 'retiring the old instances',
  record: 'recording',
  shutdown: 'stopping',
  batch: 'rolling out a batch of nodes',
  compensate: 'rolling back',
};

export interface RolloutPhase {
  /** A word or two: building, health gate, switching traffic, watch window, rolling back ... */
  phase: string;
  /** The step running (or next), 1-based, of how many stored so far. */
  step?: number;
  steps?: number;
}

export function rolloutPhase(d: DeploymentRecord, steps: StepRecord[]): RolloutPhase {
  if (steps.length === 0) return { phase: d.kind === 'deploy' ? 'preparing' : 'planning' };
  const current = steps.find((s) => s.status === 'running') ?? steps.find((s) => s.status === 'pending');
  // Once a compensation began, everything after its marker is the way back.
  const back = steps.some((s) => s.kind === 'compensate' && s.status !== 'pending');
  if (!current) return { phase: back ? 'rolling back' : 'finishing', steps: steps.length };
  const phase = back ? 'rolling back' : current.kind === 'hook' ? `hook ${(current.params as { name?: string }).name ?? ''}`.trim() : (PHASES[current.kind] ?? current.kind);
  return { phase, step: current.idx + 1, steps: steps.length };
}
