/** The seeds' endpoints: unified deploy, per-platform validation, push to a registry. */
import { z } from 'zod';
import { validateTargets } from '../../engine/index.js';
import { isGantryError } from '../../core/errors.js';
import { registry } from '../../registry/index.js';
import { appFor, loadApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { ApiError } from '../http/api-error.js';
import { projectOf, type App } from '../http/app.js';
import { deploymentView, enqueueFor } from '../jobs/enqueue.js';
import { AnyOut, Id, needs } from './schemas.js';
import { jobFor } from './deployments.js';

const EnvVars = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(65_536));
const PlatformConfig = z.record(z.string().min(1).max(128), z.unknown());

export function seedRoutes(app: App, ctx: ServerContext): void {
  app.post('/api/v1/deploy/unified', {
    config: { role: 'deployer' },
    schema: {
      tags: ['deploy'],
      description: needs('deployer', 'Deploy a registered app (`app`, or `agent_id`) to the target of type `deployment_type`, with `platform_config` over that target\'s config and `env_vars` over its env. Answers 202 with the deployment; `external_id`, `access_url` and `registry_image` are filled as it progresses.'),
      body: z.strictObject({ agent_id: Id.optional(), app: Id.optional(), deployment_type: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/), adapter: z.string().max(64).optional(), platform_config: PlatformConfig.optional(), env_vars: EnvVars.optional(), env: Id.optional(), force: z.boolean().optional() }),
      response: { 202: AnyOut },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const name = b.app ?? b.agent_id;
      if (!name) throw new ApiError(400, 'INVALID_REQUEST', 'give `app` (or `agent_id`): the registered app to deploy', 'register it first: POST /api/v1/projects/{project}/apps');
      if (b.app && b.agent_id && b.app !== b.agent_id) throw new ApiError(400, 'INVALID_REQUEST', '`app` and `agent_id` name different apps', 'give one of them');
      const { job, type } = await enqueueFor(ctx, req, name, 'deploy', undefined, { targetType: b.deployment_type, platformConfig: b.platform_config, envVars: b.env_vars, env: b.env, adapter: b.adapter, force: b.force });
      return reply.status(202).send({ ...deploymentView(job), deployment_type: type });
    },
  });

  app.post('/api/v1/deploy/validate/:platform', {
    config: { role: 'viewer' },
    schema: {
      tags: ['deploy'],
      description: needs('viewer', 'Check a platform config (and, with `app`, that app\'s manifest with it applied): problems with their paths and hints. Changes nothing.'),
      params: z.strictObject({ platform: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/) }),
      body: z.strictObject({ platform_config: PlatformConfig.default({}), app: Id.optional(), env_vars: EnvVars.optional() }),
      response: { 200: AnyOut },
    },
    handler: async (req) => {
      const { platform } = req.params;
      const schema = registry.configSchema(platform);
      if (!schema) throw new ApiError(404, 'NOT_FOUND', `no platform "${platform}"`, `platforms: ${registry.types().join(', ')}`);
      const problems: Array<{ path: string; message: string; hint?: string; line?: number; file?: string }> = [];
      const parsed = schema.safeParse(req.body.platform_config);
      if (!parsed.success) for (const i of parsed.error.issues) problems.push({ path: ['platform_config', ...i.path.map(String)].join('.'), message: i.message, hint: `see the ${platform} target's fields in schema/gantry.schema.json` });
      if (req.body.app && problems.length === 0) {
        const a = await appFor(ctx.db, req.body.app, projectOf(req));
        try {
          const { loaded, target } = loadApp(a, { targetType: platform, platformConfig: req.body.platform_config, envVars: req.body.env_vars });
          const v = await validateTargets(registry, loaded, target);
          for (const p of v.errors) problems.push({ path: p.path, message: p.message, hint: p.hint, line: p.line, file: p.file });
        } catch (err) {
          if (!isGantryError(err) || err.code !== 'MANIFEST_INVALID') throw err;
          for (const p of (err.details as { problems: Array<{ path: string; message: string; hint?: string; line?: number; file?: string }> }).problems) problems.push({ path: p.path, message: p.message, hint: p.hint, line: p.line, file: p.file });
        }
      }
      return { platform, valid: problems.length === 0, problems };
    },
  });

  app.post('/api/v1/deploy/:id/push-registry', {
    config: { role: 'deployer' },
    schema: {
      tags: ['deploy'],
      description: needs('deployer', 'Tag and push the deployment\'s release image to `registry` (default: the target\'s); recorded as its registry_image.'),
      params: z.strictObject({ id: Id }),
      body: z.strictObject({ registry: z.string().min(1).max(255).regex(/^[A-Za-z0-9.:/_-]+$/).optional(), credentials: z.strictObject({ username: z.string().min(1).max(255), password: z.string().min(1).max(4096) }).optional() }).default({}),
      response: { 200: AnyOut },
    },
    handler: async (req) => {
      const job = await jobFor(ctx, req.params.id, projectOf(req));
      if (job.state !== 'succeeded' || !job.external_id) throw new ApiError(409, 'CONFLICT', `deployment ${job.id} is ${job.state}${job.external_id ? '' : ' without a release'}`, 'push a deployment that succeeded');
      const { loaded } = loadApp(await appFor(ctx.db, job.app, null), JSON.parse(job.params) as Record<string, never>);
      const r = await ctx.face.engine.push(loaded, job.target, { registry: req.body.registry, release: job.external_id, auth: req.body.credentials });
      await ctx.queue.update(job.id, { registry_image: r.registry_image });
      return { ...deploymentView({ ...job, registry_image: r.registry_image }), digest: r.digest };
    },
  });
}
