/** Turn an API request into a queued job: the manifest (with overrides) is checked first, so a bad one queues nothing. */
import type { FastifyRequest } from 'fastify';
import { appFor, loadApp, type AppRow } from '../apps.js';
import type { ServerContext } from '../context.js';
import type { JobKind } from '../db/schema.js';
import { ApiError } from '../http/api-error.js';
import { projectOf } from '../http/app.js';
import type { JobParams } from './run-job.js';
import { redactedConfig, triggerOf } from './redact-config.js';
import type { Job } from './queue.js';

export async function enqueueFor(ctx: ServerContext, req: FastifyRequest, appName: string, kind: JobKind, target: string | undefined, params: JobParams): Promise<{ job: Job; type: string }> {
  const app = await appFor(ctx.db, appName, projectOf(req));
  return enqueueJob(ctx, { app, kind, target, params, requestedBy: req.key?.id ?? 'unknown' });
}

/**
 * Queue a job for a registered app (any caller: a route, the git-push trigger). The
 * manifest is loaded with the job's overrides first: an invalid one queues nothing.
 * `params.sourceDir` deploys another checkout of the app (e.g. a pushed commit).
 */
export async function enqueueJob(ctx: ServerContext, j: { app: AppRow; kind: JobKind; target?: string; params: JobParams; requestedBy: string }): Promise<{ job: Job; type: string }> {
  const { app, kind, target, params } = j;
  const { loaded, target: byType } = loadApp(app, params);
  const names = ctx.face.engine.targetNames(loaded);
  const name = target ?? byType ?? names[0];
  if (!name || !names.includes(name)) throw new ApiError(400, 'TARGET_UNKNOWN', `app ${app.name} has no target ${name ?? ''}`, `its targets: ${names.join(', ')}`);
  const type = (loaded.manifest.targets[name] as { type: string }).type;
  const job = await ctx.queue.enqueue({ projectId: app.project_id, app: app.name, target: name, kind, params: { ...params }, requestedBy: j.requestedBy });
  ctx.workers.poke();
  return { job, type };
}

/** A job as the API shows a deployment (the seeds' fields included). */
export function deploymentView(job: Job) {
  const p = JSON.parse(job.params) as JobParams;
  const result = job.result ? (JSON.parse(job.result) as Record<string, unknown>) : undefined;
  return {
    id: job.id,
    project: job.project_id,
    app: job.app,
    target: job.target,
    kind: job.kind,
    status: job.state,
    deployment_type: p.targetType,
    adapter: p.adapter,
    external_id: job.external_id,
    access_url: job.access_url,
    registry_image: job.registry_image,
    release: (result?.release as string | undefined) ?? null,
    engine_deployment_id: job.engine_deployment_id,
    error: job.error,
    attempts: job.attempts,
    /** The worker holding (or last holding) the job: host:pid:id#loop, so an operator can tell which replica runs it. */
    worker: job.worker_id,
    requested_by: job.requested_by,
    trigger: triggerOf(job.requested_by, p),
    /** What it was asked with, redacted: env values never, credential-like platform fields `[redacted]`. */
    config: redactedConfig(p),
    duration_ms: job.started_at && job.finished_at ? Date.parse(job.finished_at) - Date.parse(job.started_at) : null,
    created_at: job.created_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    result,
  };
}
