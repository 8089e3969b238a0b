/** Probes, metrics, the OpenAPI document and the git-push hook's place. */
import { sql } from 'kysely';
import { z } from 'zod';
import type { ServerContext } from '../context.js';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { App } from '../http/app.js';
import { Id, needs } from './schemas.js';

export function opsRoutes(app: App, ctx: ServerContext): void {
  app.get('/health', { config: { role: 'public' }, schema: { tags: ['health'], description: 'Liveness and readiness together (no key needed).' } }, async (_req, reply) => {
    const ready = await readiness(ctx);
    return reply.status(ready.ok ? 200 : 503).send({ status: ready.ok ? 'ok' : 'unavailable', ...ready });
  });
  app.get('/health/live', { config: { role: 'public' }, schema: { tags: ['health'], description: 'The process answers (no key needed).' } }, async () => ({ status: 'ok' }));
  app.get('/health/ready', { config: { role: 'public' }, schema: { tags: ['health'], description: 'The store answers and the workers run (no key needed).' } }, async (_req, reply) => {
    const ready = await readiness(ctx);
    return reply.status(ready.ok ? 200 : 503).send(ready);
  });

  app.get('/metrics', { config: { role: 'viewer' }, schema: { tags: ['health'], description: needs('viewer', 'Prometheus metrics.') } }, async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
  });

  app.get('/api/v1/openapi.json', { config: { role: 'public' }, schema: { hide: true } }, async () => app.swagger());

  // The git-push trigger (HMAC-signed, no key): the body is kept as its exact bytes (the signature is over them),
  // whatever its content type. The handler is src/server/hooks/git-push.ts unless another is handed in.
  void app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post('/api/v1/hooks/git/:app', {
      config: { role: 'public' },
      schema: { tags: ['hooks'], description: 'A GitHub- or GitLab-style push, verified by its HMAC-SHA256 signature (not a key): deploys the pushed commit to the targets mapped to its branch.', params: z.strictObject({ app: Id }) },
      handler: async (req, reply) => {
        if (!ctx.handleGitPush) return reply.status(501).send({ error: { code: 'NOT_IMPLEMENTED', message: 'git-push triggers are not wired into this server yet', hint: 'deploy through POST /api/v1/deploy/unified' } });
        const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const r = await ctx.handleGitPush({ app: req.params.app, headers: req.headers, rawBody }, ctx);
        return reply.status(r.status).send(r.body);
      },
    });
  });
}

async function readiness(ctx: ServerContext): Promise<{ ok: boolean; store: boolean; workers: boolean }> {
  let store = false;
  try {
    await sql`select 1`.execute(ctx.db);
    store = true;
  } catch {
    store = false;
  }
  const workers = ctx.workers.alive();
  return { ok: store && workers, store, workers };
}
