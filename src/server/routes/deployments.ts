/** Deployments: create (202 at once, run by a worker), list, get, lifecycle jobs, promote/abort, live events. */
import { z } from 'zod';
import { appFor, loadApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import { projectOf, type App } from '../http/app.js';
import { deploymentView, enqueueFor } from '../jobs/enqueue.js';
import { AnyOut, Id, TargetBody, needs } from './schemas.js';
import { streamDeploymentEvents } from './sse.js';

export function deploymentRoutes(app: App, ctx: ServerContext): void {
  app.post('/api/v1/apps/:app/deployments', {
    config: { role: 'deployer' },
    schema: { tags: ['deployments'], description: needs('deployer', 'Deploy the app (a new release unless nothing changed). Answers 202 with the deployment at once; follow /deployments/{id}/events.'), params: z.strictObject({ app: Id }), body: z.strictObject({ target: Id.optional(), force: z.boolean().optional(), env: Id.optional() }).default({}), response: { 202: AnyOut } },
    handler: async (req, reply) => {
      const { job, type } = await enqueueFor(ctx, req, req.params.app, 'deploy', req.body.target, { force: req.body.force, env: req.body.env, targetType: undefined });
      return reply.status(202).send({ ...deploymentView(job), deployment_type: type });
    },
  });

  app.get('/api/v1/apps/:app/deployments', {
    config: { role: 'viewer' },
    schema: { tags: ['deployments'], description: needs('viewer', 'The app\'s deployments, newest first.'), params: z.strictObject({ app: Id }), querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const jobs = await ctx.db.selectFrom('jobs').selectAll().where('app', '=', a.name).orderBy('created_at', 'desc').limit(req.query.limit).execute();
      return { deployments: jobs.map(deploymentView) };
    },
  });

  app.get('/api/v1/deployments/:id', {
    config: { role: 'viewer' },
    schema: { tags: ['deployments'], description: needs('viewer', 'A deployment and where it stands.'), params: z.strictObject({ id: Id }), response: { 200: AnyOut } },
    handler: async (req) => deploymentView(await jobFor(ctx, req.params.id, projectOf(req))),
  });

  app.get('/api/v1/deployments/:id/events', {
    config: { role: 'viewer' },
    schema: { tags: ['deployments'], description: needs('viewer', 'Server-Sent Events of the deployment\'s steps, ending with an `end` event carrying its final status. Resumable with Last-Event-ID.'), params: z.strictObject({ id: Id }), headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,10}$/).optional() }), response: { 200: AnyOut } },
    handler: async (req, reply) => {
      await jobFor(ctx, req.params.id, projectOf(req));
      await streamDeploymentEvents(ctx, req, reply, req.params.id, Number(req.headers['last-event-id'] ?? 0));
    },
  });

  for (const kind of ['start', 'stop', 'restart'] as const) {
    app.post(`/api/v1/apps/:app/${kind}`, {
      config: { role: 'deployer' },
      schema: { tags: ['deployments'], description: needs('deployer', `${kind[0]!.toUpperCase()}${kind.slice(1)} the app on a target (a job: 202 with its deployment).`), params: z.strictObject({ app: Id }), body: TargetBody, response: { 202: AnyOut } },
      handler: async (req, reply) => {
        const { job, type } = await enqueueFor(ctx, req, req.params.app, kind, req.body.target, {});
        return reply.status(202).send({ ...deploymentView(job), deployment_type: type });
      },
    });
  }

  app.post('/api/v1/apps/:app/rollback', {
    config: { role: 'deployer' },
    schema: { tags: ['deployments'], description: needs('deployer', 'Back to the last known-good release, or `release` (a job: 202).'), params: z.strictObject({ app: Id }), body: z.strictObject({ target: Id.optional(), release: z.string().regex(/^[0-9]{8}T[0-9]{6,9}Z?-[a-z0-9]{4,40}$/).optional() }).default({}), response: { 202: AnyOut } },
    handler: async (req, reply) => {
      const { job, type } = await enqueueFor(ctx, req, req.params.app, 'rollback', req.body.target, { release: req.body.release });
      return reply.status(202).send({ ...deploymentView(job), deployment_type: type });
    },
  });

  for (const what of ['promote', 'abort'] as const) {
    app.post(`/api/v1/apps/:app/${what}`, {
      config: { role: 'deployer' },
      schema: { tags: ['deployments'], description: needs('deployer', what === 'promote' ? 'Let a canary paused for manual promotion move on.' : 'End the rollout in progress back at the previous release.'), params: z.strictObject({ app: Id }), body: TargetBody, response: { 200: AnyOut } },
      handler: async (req) => {
        const { loaded } = loadApp(await appFor(ctx.db, req.params.app, projectOf(req)));
        return ctx.face.engine.signal(loaded, req.body.target, what);
      },
    });
  }
}

export async function jobFor(ctx: ServerContext, id: string, projectId: string | null) {
  const job = await ctx.queue.get(id);
  if (!job || (projectId !== null && job.project_id !== projectId)) throw notFound(`deployment ${id}`);
  return job;
}
