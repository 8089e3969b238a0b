/** Apps (registered from a manifest), their targets, status, releases, logs and secrets (values write-only). */
import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';
import { appFor, loadApp, registerApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { ApiError, notFound } from '../http/api-error.js';
import { assertProject, projectOf, type App } from '../http/app.js';
import { AnyOut, Id, SecretName, TargetQuery, needs } from './schemas.js';
import { followLogs } from './sse.js';
import { forgetSource, readSource, registerFromGit, sourceView, type GitSourceRow } from '../sources/git-source.js';
import { parseDuration } from '../../core/duration.js';

const GitSource = z.strictObject({
  url: z.string().min(1).max(2048),
  branch: z.string().min(1).max(255).default('main'),
  path: z.string().min(1).max(1024).default('.'),
  /** Poll the branch for hosts that cannot receive webhooks: each new head is registered and deployed. */
  watch: z.strictObject({ interval: z.union([z.string().max(32), z.number().int().positive()]).optional(), targets: z.array(Id).min(1).max(32).optional() }).optional(),
});

export function appRoutes(app: App, ctx: ServerContext): void {
  app.post('/api/v1/projects/:project/apps', {
    config: { role: 'admin' },
    schema: {
      tags: ['apps'],
      description: needs(
        'admin',
        'Register an app from a manifest path on the server, from manifest text and the directory of its source, or from a git repository (`git: { url, branch, path, watch }`: the branch head is checked out on the server; with `watch` the branch is polled and each new head deployed). Registering again updates it.',
      ),
      params: z.strictObject({ project: Id }),
      body: z.strictObject({ manifest_path: z.string().min(1).max(4096).optional(), manifest: z.string().min(1).max(262_144).optional(), source_dir: z.string().min(1).max(4096).optional(), git: GitSource.optional() }),
      response: { 201: AnyOut },
    },
    handler: async (req, reply) => {
      assertProject(req, req.params.project);
      const p = await ctx.db.selectFrom('projects').selectAll().where('id', '=', req.params.project).executeTakeFirst();
      if (!p) throw notFound(`project ${req.params.project}`);
      const { git, ...local } = req.body;
      if (git) {
        if (local.manifest_path || local.manifest || local.source_dir) throw new ApiError(400, 'USAGE', 'give git, or manifest_path, or manifest and source_dir: not several', 'an app comes from one place');
        const intervalMs = git.watch?.interval === undefined ? undefined : parseDuration(git.watch.interval);
        if (git.watch?.interval !== undefined && intervalMs === undefined) throw new ApiError(400, 'USAGE', `git.watch.interval: ${JSON.stringify(git.watch.interval)} is not a duration`, 'e.g. "30s", "5m", or a number of seconds');
        const { row, source } = await registerFromGit(ctx.db, ctx.dataDir, p.id, { url: git.url, branch: git.branch, path: git.path, watch: git.watch ? { intervalMs: intervalMs ?? DEFAULTS.gitTrigger.pollIntervalMs, targets: git.watch.targets } : undefined }, p.max_apps);
        checkWatchTargets(row, source, ctx);
        ctx.sources.watch(source);
        return reply.status(201).send(appView(row, ctx, source));
      }
      const row = await registerApp(ctx.db, p.id, local, p.max_apps);
      // Registered from a local manifest now: it no longer follows a repository.
      await ctx.sources.unwatch(row.name);
      await forgetSource(ctx.db, ctx.dataDir, row.name);
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
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      return appView(a, ctx, await readSource(ctx.db, a.name));
    },
  });

  app.delete('/api/v1/apps/:app', {
    config: { role: 'admin' },
    schema: { tags: ['apps'], description: needs('admin', 'Forget an app (what runs keeps running; stop it first to stop it).'), params: z.strictObject({ app: Id }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const busy = await ctx.db.selectFrom('jobs').select('id').where('app', '=', a.name).where('state', 'in', ['queued', 'running']).executeTakeFirst();
      if (busy) throw new ApiError(409, 'CONFLICT', `deployment ${busy.id} of ${a.name} is not finished`, 'wait for it, then remove the app');
      await ctx.sources.unwatch(a.name);
      await forgetSource(ctx.db, ctx.dataDir, a.name);
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

/** Watched targets must be the app's own: checked once registered (the manifest names them). */
function checkWatchTargets(row: Parameters<typeof loadApp>[0], source: GitSourceRow, ctx: ServerContext): void {
  if (!source.watch_targets) return;
  const names = ctx.face.engine.targetNames(loadApp(row).loaded);
  const unknown = (JSON.parse(source.watch_targets) as string[]).filter((t) => !names.includes(t));
  if (unknown.length) throw new ApiError(400, 'TARGET_UNKNOWN', `git.watch.targets: app ${row.name} has no target ${unknown.join(', ')}`, `its targets: ${names.join(', ')}`);
}

function appView(a: { name: string; project_id: string; manifest_path: string | null; source_dir: string | null; created_at: string }, ctx: ServerContext, source?: GitSourceRow) {
  let targets: Array<{ name: string; type: string }> = [];
  let problem: string | undefined;
  try {
    const { loaded } = loadApp(a as Parameters<typeof loadApp>[0]);
    targets = ctx.face.engine.targetNames(loaded).map((n) => ({ name: n, type: (loaded.manifest.targets[n] as { type: string }).type }));
  } catch (err) {
    problem = (err as Error).message;
  }
  return { name: a.name, project: a.project_id, manifest_path: a.manifest_path, source_dir: a.source_dir, created_at: a.created_at, targets, ...(source ? { git: sourceView(source) } : {}), ...(problem ? { problem } : {}) };
}
