/** Apps (registered from a manifest), their targets, status, releases, logs and secrets (values write-only). */
import { z } from 'zod';
import { appFor, loadApp, registerApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { ApiError, notFound } from '../http/api-error.js';
import { assertProject, projectOf, type App } from '../http/app.js';
import { AnyOut, Id, SecretName, TargetQuery, needs } from './schemas.js';
import { followLogs } from './sse.js';

export function appRoutes(app: App, ctx: ServerContext): void {
  app.post('/api/v1/projects/:project/apps', {
    config: { role: 'admin' },
    schema: {
      tags: ['apps'],
      description: needs('admin', 'Register an app from a manifest path on the server, or from manifest text and the directory of its source. Registering again updates it.'),
      params: z.strictObject({ project: Id }),
      body: z.strictObject({ manifest_path: z.string().min(1).max(4096).optional(), manifest: z.string().min(1).max(262_144).optional(), source_dir: z.string().min(1).max(4096).optional() }),
      response: { 201: AnyOut },
    },
    handler: async (req, reply) => {
      assertProject(req, req.params.project);
      const p = await ctx.db.selectFrom('projects').selectAll().where('id', '=', req.params.project).executeTakeFirst();
      if (!p) throw notFound(`project ${req.params.project}`);
      const row = await registerApp(ctx.db, p.id, req.body, p.max_apps);
      return reply.status(201).send(appView(row, ctx));
    },
  });

  app.get('/api/v1/apps', {
    config: { role: 'viewer' },
    schema: { tags: ['apps'], description: needs('viewer', 'The apps of the key\'s project.'), response: { 200: AnyOut } },
    handler: async (req) => {
      const mine = projectOf(req);
      let q = ctx.db.selectFrom('apps').selectAll().orderBy('name');
      if (mine !== null) q = q.where('project_id', '=', mine);
      return { apps: (await q.execute()).map((a) => ({ name: a.name, project: a.project_id, manifest_path: a.manifest_path, source_dir: a.source_dir, created_at: a.created_at })) };
    },
  });

  app.get('/api/v1/apps/:app', {
    config: { role: 'viewer' },
    schema: { tags: ['apps'], description: needs('viewer', 'An app and its targets.'), params: z.strictObject({ app: Id }), response: { 200: AnyOut } },
    handler: async (req) => appView(await appFor(ctx.db, req.params.app, projectOf(req)), ctx),
  });

  app.delete('/api/v1/apps/:app', {
    config: { role: 'admin' },
    schema: { tags: ['apps'], description: needs('admin', 'Forget an app (what runs keeps running; stop it first to stop it).'), params: z.strictObject({ app: Id }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const busy = await ctx.db.selectFrom('jobs').select('id').where('app', '=', a.name).where('state', 'in', ['queued', 'running']).executeTakeFirst();
      if (busy) throw new ApiError(409, 'CONFLICT', `deployment ${busy.id} of ${a.name} is not finished`, 'wait for it, then remove the app');
      await ctx.db.deleteFrom('apps').where('name', '=', a.name).execute();
      return { app: a.name, removed: true };
    },
  });

  app.get('/api/v1/apps/:app/targets', {
    config: { role: 'viewer' },
    schema: { tags: ['apps'], description: needs('viewer', 'The targets of an app\'s manifest.'), params: z.strictObject({ app: Id }), response: { 200: AnyOut } },
    handler: async (req) => ({ targets: appView(await appFor(ctx.db, req.params.app, projectOf(req)), ctx).targets }),
  });

  app.get('/api/v1/apps/:app/status', {
    config: { role: 'viewer' },
    schema: { tags: ['apps'], description: needs('viewer', 'What runs now (the same document as `gantry status --json`).'), params: z.strictObject({ app: Id }), querystring: TargetQuery, response: { 200: AnyOut } },
    handler: async (req) => {
      const { loaded } = loadApp(await appFor(ctx.db, req.params.app, projectOf(req)));
      return ctx.face.engine.status(loaded, req.query.target);
    },
  });

  app.get('/api/v1/apps/:app/releases', {
    config: { role: 'viewer' },
    schema: { tags: ['apps'], description: needs('viewer', 'Kept releases, newest first.'), params: z.strictObject({ app: Id }), querystring: TargetQuery, response: { 200: AnyOut } },
    handler: async (req) => {
      const { loaded } = loadApp(await appFor(ctx.db, req.params.app, projectOf(req)));
      return { releases: await ctx.face.engine.releases(loaded, req.query.target) };
    },
  });

  app.get('/api/v1/apps/:app/logs', {
    config: { role: 'viewer' },
    schema: {
      tags: ['apps'],
      description: needs('viewer', 'The app\'s output: the last `lines` as JSON, or with follow=1 a Server-Sent Events stream of lines.'),
      params: z.strictObject({ app: Id }),
      querystring: z.strictObject({ target: Id.optional(), lines: z.coerce.number().int().min(0).max(10_000).default(100), follow: z.enum(['0', '1', 'true', 'false']).optional() }),
      response: { 200: AnyOut },
    },
    handler: async (req, reply) => {
      const { loaded } = loadApp(await appFor(ctx.db, req.params.app, projectOf(req)));
      if (req.query.follow === '1' || req.query.follow === 'true') return followLogs(ctx, req, reply, loaded, req.query.target, req.query.lines);
      const lines: unknown[] = [];
      for await (const l of ctx.face.engine.logs(loaded, req.query.target, { lines: req.query.lines, follow: false })) lines.push(l);
      return { lines };
    },
  });

  app.get('/api/v1/apps/:app/secrets', {
    config: { role: 'viewer' },
    schema: { tags: ['secrets'], description: needs('viewer', 'Secret names and versions (never values).'), params: z.strictObject({ app: Id }), querystring: z.strictObject({ env: Id.optional() }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const { loaded } = loadApp(a);
      const names = loaded.manifest.secrets;
      const r = await (await ctx.face.secrets()).resolve(a.name, req.query.env, names);
      return { secrets: names.map((n) => ({ name: n, set: !r.missing.includes(n), version: r.versions[n] ?? null })) };
    },
  });

  app.put('/api/v1/apps/:app/secrets/:name', {
    config: { role: 'deployer' },
    schema: { tags: ['secrets'], description: needs('deployer', 'Set a secret (age-encrypted at rest). The value is never returned by any route.'), params: z.strictObject({ app: Id, name: SecretName }), body: z.strictObject({ value: z.string().min(1).max(65_536), env: Id.optional() }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const meta = await (await ctx.face.secrets()).set(a.name, req.body.env, req.params.name, req.body.value);
      return { name: meta.name, env: meta.env, version: meta.version, set_at: meta.setAt };
    },
  });

  app.delete('/api/v1/apps/:app/secrets/:name', {
    config: { role: 'deployer' },
    schema: { tags: ['secrets'], description: needs('deployer', 'Remove a secret.'), params: z.strictObject({ app: Id, name: SecretName }), querystring: z.strictObject({ env: Id.optional() }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      if (!(await ctx.face.secrets()).remove(a.name, req.query.env, req.params.name)) throw notFound(`secret ${req.params.name}`);
      return { name: req.params.name, removed: true };
    },
  });
}

function appView(a: { name: string; project_id: string; manifest_path: string | null; source_dir: string | null; created_at: string }, ctx: ServerContext) {
  let targets: Array<{ name: string; type: string }> = [];
  let problem: string | undefined;
  try {
    const { loaded } = loadApp(a as Parameters<typeof loadApp>[0]);
    targets = ctx.face.engine.targetNames(loaded).map((n) => ({ name: n, type: (loaded.manifest.targets[n] as { type: string }).type }));
  } catch (err) {
    problem = (err as Error).message;
  }
  return { name: a.name, project: a.project_id, manifest_path: a.manifest_path, source_dir: a.source_dir, created_at: a.created_at, targets, ...(problem ? { problem } : {}) };
}
