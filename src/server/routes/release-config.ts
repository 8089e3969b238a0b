/** A release's resolved manifest, redacted, so two releases can be compared (the dashboard's config diff). */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { appFor, loadApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import { projectOf, type App } from '../http/app.js';
import { redactValue } from '../jobs/redact-config.js';
import { Id, needs } from './schemas.js';

/** Env values are not shown, but a change of one must show in a diff: a short fingerprint stands for each. */
const fingerprint = (v: unknown): string => `sha256:${createHash('sha256').update(String(v)).digest('hex').slice(0, 12)}`;

export function redactManifest(m: Record<string, unknown>): Record<string, unknown> {
  const env = m.env && typeof m.env === 'object' ? Object.fromEntries(Object.entries(m.env as Record<string, unknown>).map(([k, v]) => [k, fingerprint(v)])) : m.env;
  return { ...(redactValue('', { ...m, env: undefined }) as Record<string, unknown>), ...(env !== undefined ? { env } : {}) };
}

export function releaseConfigRoutes(app: App, ctx: ServerContext): void {
  app.get('/api/v1/apps/:app/releases/:release/config', {
    config: { role: 'viewer' },
    schema: {
      tags: ['apps'],
      description: needs('viewer', 'The resolved manifest a release was made from: credential-like fields `[redacted]`, env values as fingerprints (a change shows, the value does not). Secret values are never in a release.'),
      params: z.strictObject({ app: Id, release: z.string().regex(/^[0-9]{8}T[0-9]{6,9}Z?-[a-z0-9]{4,40}$/) }),
      querystring: z.strictObject({ target: Id.optional() }),
      response: { 200: z.object({ release: z.string(), target: z.string(), version: z.string(), created_at: z.string(), status: z.string(), manifest: z.record(z.string(), z.any()) }) },
    },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const target = req.query.target ?? ctx.face.engine.targetNames(loadApp(a).loaded)[0];
      const r = target ? ctx.face.store.getRelease(a.name, target, req.params.release) : undefined;
      if (!r || !target) throw notFound(`release ${req.params.release}`);
      return { release: r.id, target, version: `v${r.version}`, created_at: r.createdAt, status: r.status, manifest: redactManifest(r.manifest) };
    },
  });
}
