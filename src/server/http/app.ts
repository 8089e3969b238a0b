/**
 * The Fastify app: zod schemas for requests (strict: unknown fields are refused)
 * and the OpenAPI document, key authentication with roles, audit of every
 * mutating call, metrics, errors as `{ error: { code, message, hint } }`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { DEFAULTS } from '../../core/defaults.js';
import { roleAtLeast, type KeyInfo } from '../auth/keys.js';
import type { Role } from '../db/schema.js';
import type { ServerContext } from '../context.js';
import { newId, nowIso } from '../ids.js';
import { ApiError, errorBody } from './api-error.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a key needs; 'public' for the probes (and hooks, signed instead). */
    role?: Role | 'public';
  }
  interface FastifyRequest {
    key?: KeyInfo;
  }
}

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** Redacted from every log line: credentials and anything that may hold a secret value. */
export const LOG_REDACT = ['req.headers.authorization', 'req.headers["x-hub-signature-256"]', 'req.headers["x-gitlab-token"]', '*.token', '*.value', '*.password', '*.credentials', '*.env_vars', '*.secretEnv', '*.secret'];

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Async: swagger must be registered before the routes are added, so it sees every one of them. */
export async function buildApp(ctx: ServerContext, opts: { logLevel?: string; bodyLimit?: number } = {}): Promise<App> {
  const app = Fastify({
    logger: { level: opts.logLevel ?? 'info', redact: { paths: LOG_REDACT, censor: '[redacted]' } },
    bodyLimit: opts.bodyLimit ?? DEFAULTS.server.bodyLimitBytes,
    // Ids in paths are checked by their schemas; keep them whole (no ';' splitting).
    routerOptions: { maxParamLength: 200 },
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Gantry control plane', version: '1', description: 'Every route but /health* needs `Authorization: Bearer <key>`. Roles: viewer < deployer < admin, scoped to a project; another project\'s resources answer 404.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/api/v1/docs' });

  app.addHook('onRequest', async (req, reply) => {
    (req as FastifyRequest & { startedAt: bigint }).startedAt = process.hrtime.bigint();
    const need = req.routeOptions.config.role;
    if (need === 'public' || req.routeOptions.url === undefined || req.url.startsWith('/api/v1/docs')) return;
    await authenticate(ctx, req, reply, need ?? 'admin');
  });

  const bodyLimit = opts.bodyLimit ?? DEFAULTS.server.bodyLimitBytes;
  app.addHook('preParsing', async (req, _reply, payload) => {
    const declared = Number(req.headers['content-length']);
    if (!(declared > bodyLimit)) return payload;
    if (declared <= DEFAULTS.server.oversizeDrainBytes) for await (const _chunk of payload) void _chunk;
    throw new ApiError(413, 'BODY_TOO_LARGE', `the request body (${declared} bytes) is over the limit`, `the body limit is ${bodyLimit} bytes`);
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const started = (req as FastifyRequest & { startedAt?: bigint }).startedAt;
    if (started) ctx.metrics.http.observe({ method: req.method, route, status: String(reply.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
    if (MUTATING.has(req.method)) await audit(ctx, req, reply.statusCode).catch((err: unknown) => req.log.error({ err: (err as Error).message }, 'writing the audit record failed'));
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const problems = err.validation.map((v) => ({ path: `${err.validationContext ?? ''}${v.instancePath}`, message: v.message, hint: hintFor(v.params) }));
      return reply.status(400).send({ error: { code: 'INVALID_REQUEST', message: `invalid request: ${problems.map((p) => `${p.path || '/'}: ${p.message}`).join('; ')}`, hint: 'see the OpenAPI document at /api/v1/openapi.json', problems } });
    }
    const fe = err as { statusCode?: number; code?: string; message?: string };
    if (typeof fe.statusCode === 'number' && fe.statusCode < 500 && !(err instanceof ApiError)) {
      const hint = fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `the body limit is ${bodyLimit} bytes` : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'send Content-Type: application/json' : 'send a JSON body that matches the OpenAPI document';
      return reply.status(fe.statusCode).send({ error: { code: fe.code ?? 'BAD_REQUEST', message: fe.message ?? 'bad request', hint } });
    }
    const { status, body } = errorBody(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}`, hint: 'see /api/v1/openapi.json' } }));
  return app;
}

function hintFor(params: unknown): string | undefined {
  const p = params as { keys?: string[]; code?: string } | undefined;
  if (p?.code === 'unrecognized_keys' || p?.keys) return 'remove the fields the API does not know';
  return undefined;
}

function clientIp(req: FastifyRequest): string {
  return req.ip || req.socket.remoteAddress || 'unknown';
}

async function authenticate(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, need: Role): Promise<void> {
  const ip = clientIp(req);
  const wait = ctx.limiter.blockedFor(ip);
  if (wait > 0) {
    reply.header('retry-after', String(wait));
    throw new ApiError(429, 'RATE_LIMITED', `too many failed authentications from ${ip}`, `try again in ${wait}s`);
  }
  const header = req.headers.authorization;
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  const key = token ? await ctx.keys.verify(token) : undefined;
  if (!key) {
    ctx.limiter.fail(ip);
    throw new ApiError(401, 'UNAUTHORIZED', token ? 'the API key is not valid (unknown, revoked or mistyped)' : 'an API key is needed', 'send Authorization: Bearer <key>; `gantry keys create` makes one');
  }
  req.key = key;
  if (!roleAtLeast(key.role, need)) throw new ApiError(403, 'FORBIDDEN', `this needs the ${need} role; the key ${key.id} is ${key.role}`, 'use a key with that role');
}

async function audit(ctx: ServerContext, req: FastifyRequest, status: number): Promise<void> {
  await ctx.db
    .insertInto('audit')
    .values({ id: newId('aud', 13), at: nowIso(), key_id: req.key?.id ?? null, project_id: req.key?.project_id ?? null, method: req.method, route: req.routeOptions.url ?? 'unmatched', path: req.url.split('?')[0]!.slice(0, 1000), status, ip: clientIp(req) })
    .execute();
}

/** The key's project, or null for a server-wide admin key. */
export function projectOf(req: FastifyRequest): string | null {
  return req.key?.project_id ?? null;
}

/** The key may act on this project: its own, or any for a server-wide key. Else 404 (never tell another project exists). */
export function assertProject(req: FastifyRequest, projectId: string): void {
  const mine = projectOf(req);
  if (mine !== null && mine !== projectId) throw new ApiError(404, 'NOT_FOUND', `project ${projectId} not found`, 'check the name, and that your key belongs to it');
}
