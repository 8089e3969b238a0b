/**
 * Run one claimed job through the engine, exactly as the CLI would run the command.
 * A job claimed again after its server died (attempts > 1) is not run again if the
 * engine had begun it: the engine's own reconciliation (on the next command, here
 * `status`) resumes or compensates its stored plan, and the job takes that outcome.
 */
import type { DeployResult, EngineEvent } from '../../engine/index.js';
import type { DeploymentRecord } from '../../store/index.js';
import { appFor, loadApp, type Overrides } from '../apps.js';
import type { EngineFace } from '../engine-face.js';
import type { JobState } from '../db/schema.js';
import { nowIso } from '../ids.js';
import { JobEventWriter } from './event-writer.js';
import type { Job, JobQueue } from './queue.js';

export interface JobParams extends Overrides {
  force?: boolean;
  release?: string;
  adapter?: string;
}

export interface JobOutcome {
  state: JobState;
  result?: unknown;
  error?: string;
  engineDeploymentId?: string;
  accessUrl?: string;
  externalId?: string;
}

const RECONCILE_WAIT_MS = 600_000;

export async function runJob(face: EngineFace, queue: JobQueue, job: Job, log: (msg: string, extra?: object) => void): Promise<JobOutcome> {
  const params = JSON.parse(job.params) as JobParams;
  const app = await appFor(queue.db, job.app, null);
  const { loaded } = loadApp(app, params);
  let engineId = job.engine_deployment_id ?? undefined;
  // Events are stored in order (batched while a write is under way) and the engine's deployment id is kept as soon as it is known.
  const events = new JobEventWriter(queue, job.id, (err) => log('storing a job event failed', { job: job.id, err: err.message }));
  const onEvent = (e: EngineEvent): void => {
    let patch: { engine_deployment_id: string } | undefined;
    if (e.deploymentId && !engineId) {
      engineId = e.deploymentId;
      patch = { engine_deployment_id: engineId };
    }
    events.add({ at: e.at, level: e.level, step: e.step, message: e.message, data: e.data }, patch);
  };
  const unroute = face.route(job.app, job.target, onEvent);
  try {
    if (job.attempts > 1) {
      const begun = engineId ? face.store.getDeployment(engineId) : findBegun(face, job);
      if (begun) {
        onEvent({ at: nowIso(), level: 'warn', app: job.app, target: job.target, deploymentId: begun.id, step: 'resume', message: `the server running this job stopped (attempt ${job.attempts - 1}); the engine's deployment ${begun.id} is finished from its stored plan, not run again` });
        const done = await awaitReconciled(face, loaded, job.target, begun.id);
        await events.flushed();
        return fromRecord(done);
      }
      onEvent({ at: nowIso(), level: 'warn', app: job.app, target: job.target, step: 'resume', message: `the server running this job stopped before the engine began it (attempt ${job.attempts - 1}); running it now` });
    }
    const r = await runKind(face, loaded, job, params);
    await events.flushed();
    return fromResult(r, engineId);
  } finally {
    unroute();
    // Every event of this job is stored before its outcome (an error's event comes last, not in a race).
    await events.flushed();
  }
}

function runKind(face: EngineFace, loaded: ReturnType<typeof loadApp>['loaded'], job: Job, p: JobParams): Promise<DeployResult> {
  const e = face.engine;
  switch (job.kind) {
    case 'deploy':
      return e.deploy(loaded, job.target, { wait: true, force: p.force });
    case 'rollback':
      return e.rollback(loaded, job.target, p.release, { wait: true });
    case 'restart':
      return e.restart(loaded, job.target, { wait: true });
    case 'start':
      return e.start(loaded, job.target, { wait: true });
    case 'stop':
      return e.stop(loaded, job.target, { wait: true });
  }
}

/** The engine deployment this job began (a deploy recorded after the job started), if the engine recorded one before the crash. */
function findBegun(face: EngineFace, job: Job): DeploymentRecord | undefined {
  if (!job.started_at) return undefined;
  return face.store
    .listDeployments(job.app, job.target, 50)
    .filter((d) => d.kind === job.kind && d.createdAt >= job.started_at!)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))[0];
}

/** Let the engine reconcile the interrupted deployment (status reconciles when the lock is free) and wait for its end. */
async function awaitReconciled(face: EngineFace, loaded: ReturnType<typeof loadApp>['loaded'], target: string, id: string): Promise<DeploymentRecord> {
  const until = Date.now() + RECONCILE_WAIT_MS;
  for (;;) {
    const d = face.store.getDeployment(id);
    if (!d) throw new Error(`the engine lost deployment ${id}`);
    if (d.status !== 'running') return d;
    if (Date.now() > until) throw new Error(`deployment ${id} was still running after ${RECONCILE_WAIT_MS / 1000}s of reconciliation`);
    await face.engine.status(loaded, target);
    if (face.store.getDeployment(id)?.status === 'running') await new Promise((r) => setTimeout(r, 500));
  }
}

function stateOf(status: string): JobState {
  return status === 'succeeded' ? 'succeeded' : status === 'rolled_back' ? 'rolled_back' : 'failed';
}

function fromResult(r: DeployResult, engineId: string | undefined): JobOutcome {
  return { state: stateOf(r.status), result: r, error: r.status === 'succeeded' ? undefined : (r.reason ?? r.error?.message), engineDeploymentId: r.id || engineId, accessUrl: r.url, externalId: r.release };
}

function fromRecord(d: DeploymentRecord): JobOutcome {
  const state = stateOf(d.status);
  const result = { id: d.id, app: d.app, target: d.target, kind: d.kind, release: d.release, previous_release: d.previousRelease, status: d.status, reason: d.reason, resumed: true };
  return { state, result, error: state === 'succeeded' ? undefined : d.reason, engineDeploymentId: d.id, accessUrl: d.accessUrl, externalId: d.release };
}
