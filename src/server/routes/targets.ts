/** The target types this server can deploy to (the dashboard's platform grid) and who the caller is. */
import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';
import type { ServerContext } from '../context.js';
import { notFound } from '../http/api-error.js';
import type { App } from '../http/app.js';
import { TargetCatalog } from '../target-catalog.js';
import { needs } from './schemas.js';

const Check = z.object({ name: z.string(), ok: z.boolean(), detail: z.string(), hint: z.string().optional() });
const TargetOut = z.object({ type: z.string(), summary: z.string(), capabilities: z.any(), ready: z.boolean(), prerequisites: z.array(Check), config_schema: z.record(z.string(), z.any()) });

export function targetRoutes(app: App, ctx: ServerContext): void {
  const catalog = new TargetCatalog(ctx.face.stateDir, { cacheMs: DEFAULTS.server.doctorCacheMs, timeoutMs: DEFAULTS.server.doctorTimeoutMs });

  app.get('/api/v1/targets', {
    config: { role: 'viewer' },
    schema: { tags: ['targets'], description: needs('viewer', 'Every target type: summary, capabilities, the JSON Schema of its config (from the manifest\'s own schema) and its doctor checks on this server (`ready`: all met).'), response: { 200: z.object({ targets: z.array(TargetOut) }) } },
    handler: async () => ({ targets: await catalog.list() }),
  });

  app.get('/api/v1/targets/:type', {
    config: { role: 'viewer' },
    schema: { tags: ['targets'], description: needs('viewer', 'One target type, as in the list.'), params: z.strictObject({ type: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/) }), response: { 200: TargetOut } },
    handler: async (req) => {
      const t = (await catalog.list()).find((e) => e.type === req.params.type);
      if (!t) throw notFound(`target type ${req.params.type}`);
      return t;
    },
  });

  app.get('/api/v1/me', {
    config: { role: 'viewer' },
    schema: { tags: ['keys'], description: needs('viewer', 'The calling key: its id, name, role and project (null: server-wide).'), response: { 200: z.object({ key_id: z.string(), name: z.string(), role: z.string(), project: z.string().nullable() }) } },
    handler: async (req) => ({ key_id: req.key!.id, name: req.key!.name, role: req.key!.role, project: req.key!.project_id }),
  });
}
