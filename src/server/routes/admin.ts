/** Projects (tenants, with quotas), API keys and the audit log. */
import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';
import { createKey, listKeys, revokeKey } from '../auth/keys.js';
import type { ServerContext } from '../context.js';
import { ApiError, notFound } from '../http/api-error.js';
import { assertProject, projectOf, type App } from '../http/app.js';
import { nowIso } from '../ids.js';
import { AnyOut, Id, RoleSchema, needs } from './schemas.js';

const serverAdminOnly = (req: { key?: { project_id: string | null } }): void => {
  if (req.key?.project_id !== null) throw new ApiError(403, 'FORBIDDEN', 'only a server-wide admin key may do this', 'use the key printed by `gantry server --init-admin`');
};

export function adminRoutes(app: App, ctx: ServerContext): void {
  app.post('/api/v1/projects', {
    config: { role: 'admin' },
    schema: { tags: ['projects'], description: needs('server-admin', 'Create a project (a tenant) with its quotas.'), body: z.strictObject({ id: Id, name: z.string().min(1).max(200).optional(), max_apps: z.number().int().min(0).max(100_000).optional(), max_concurrent_deploys: z.number().int().min(1).max(1000).optional() }), response: { 201: AnyOut } },
    handler: async (req, reply) => {
      serverAdminOnly(req);
      const b = req.body;
      if (await ctx.db.selectFrom('projects').select('id').where('id', '=', b.id).executeTakeFirst()) throw new ApiError(409, 'CONFLICT', `project ${b.id} exists`, 'pick another id');
      const row = { id: b.id, name: b.name ?? b.id, max_apps: b.max_apps ?? DEFAULTS.server.maxApps, max_concurrent_deploys: b.max_concurrent_deploys ?? DEFAULTS.server.maxConcurrentDeploys, created_at: nowIso() };
      await ctx.db.insertInto('projects').values(row).execute();
      return reply.status(201).send(row);
    },
  });

  app.get('/api/v1/projects', {
    config: { role: 'viewer' },
    schema: { tags: ['projects'], description: needs('viewer', 'The projects the key sees.'), response: { 200: AnyOut } },
    handler: async (req) => {
      const mine = projectOf(req);
      let q = ctx.db.selectFrom('projects').selectAll().orderBy('id');
      if (mine !== null) q = q.where('id', '=', mine);
      return { projects: await q.execute() };
    },
  });

  app.get('/api/v1/projects/:project', {
    config: { role: 'viewer' },
    schema: { tags: ['projects'], description: needs('viewer', 'A project, its quotas and use.'), params: z.strictObject({ project: Id }), response: { 200: AnyOut } },
    handler: async (req) => {
      assertProject(req, req.params.project);
      const p = await ctx.db.selectFrom('projects').selectAll().where('id', '=', req.params.project).executeTakeFirst();
      if (!p) throw notFound(`project ${req.params.project}`);
      const apps = await ctx.db.selectFrom('apps').select('name').where('project_id', '=', p.id).execute();
      return { ...p, apps: apps.map((a) => a.name) };
    },
  });

  app.patch('/api/v1/projects/:project', {
    config: { role: 'admin' },
    schema: { tags: ['projects'], description: needs('server-admin', 'Change a project\'s quotas.'), params: z.strictObject({ project: Id }), body: z.strictObject({ name: z.string().min(1).max(200).optional(), max_apps: z.number().int().min(0).max(100_000).optional(), max_concurrent_deploys: z.number().int().min(1).max(1000).optional() }), response: { 200: AnyOut } },
    handler: async (req) => {
      assertProject(req, req.params.project);
      serverAdminOnly(req);
      const r = await ctx.db.updateTable('projects').set(req.body).where('id', '=', req.params.project).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound(`project ${req.params.project}`);
      return ctx.db.selectFrom('projects').selectAll().where('id', '=', req.params.project).executeTakeFirstOrThrow();
    },
  });

  app.post('/api/v1/keys', {
    config: { role: 'admin' },
    schema: { tags: ['keys'], description: needs('admin', 'Create an API key; the token is in this answer only.'), body: z.strictObject({ project: Id.nullable().optional(), role: RoleSchema, name: z.string().min(1).max(200) }), response: { 201: AnyOut } },
    handler: async (req, reply) => {
      const mine = projectOf(req);
      const project = mine ?? req.body.project ?? null;
      if (mine !== null && req.body.project && req.body.project !== mine) throw notFound(`project ${req.body.project}`);
      if (project !== null && !(await ctx.db.selectFrom('projects').select('id').where('id', '=', project).executeTakeFirst())) throw notFound(`project ${project}`);
      const { key, token } = await createKey(ctx.db, { projectId: project, role: req.body.role, name: req.body.name });
      return reply.status(201).send({ ...key, token, note: 'the token is shown once; store it now' });
    },
  });

  app.get('/api/v1/keys', {
    config: { role: 'admin' },
    schema: { tags: ['keys'], description: needs('admin', 'Keys of the project (never their tokens).'), response: { 200: AnyOut } },
    handler: async (req) => ({ keys: await listKeys(ctx.db, projectOf(req)) }),
  });

  app.delete('/api/v1/keys/:id', {
    config: { role: 'admin' },
    schema: { tags: ['keys'], description: needs('admin', 'Revoke a key: it stops working at once.'), params: z.strictObject({ id: Id }), response: { 200: AnyOut } },
    handler: async (req) => {
      if (!(await revokeKey(ctx.db, req.params.id, projectOf(req)))) throw notFound(`key ${req.params.id}`);
      ctx.keys.forget(req.params.id);
      return { id: req.params.id, revoked: true };
    },
  });

  app.get('/api/v1/audit', {
    config: { role: 'admin' },
    schema: { tags: ['audit'], description: needs('admin', 'Who (key id) did what, when and from where: every mutating call, newest first.'), querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) }), response: { 200: AnyOut } },
    handler: async (req) => {
      const mine = projectOf(req);
      let q = ctx.db.selectFrom('audit').selectAll().orderBy('at', 'desc').limit(req.query.limit);
      if (mine !== null) q = q.where('project_id', '=', mine);
      return { audit: await q.execute() };
    },
  });
}
