/**
 * The dashboard (web/, built by Vite into dist/web/) served at `/`: hashed assets
 * cached for a year, index.html never cached, any other GET outside /api/ answered
 * with index.html so client routes load (an /api/ path that no route knows stays a
 * JSON 404). The pages need no key: they hold no data, everything comes from the API.
 */
import { existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import { DEFAULTS } from '../../core/defaults.js';
import type { App } from '../http/app.js';

/** dist/web beside dist/server (this file is dist/server/web/serve-dashboard.js once built). */
export const defaultWebDir = (): string => fileURLToPath(new URL('../../web/', import.meta.url));

/** Only this origin: no CDN, no inline script; React sets styles through the CSSOM, which CSP allows. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** Paths the API and the probes own: never answered with the dashboard. */
const NOT_DASHBOARD = /^\/(api|health|metrics)(\/|$)/;

function pageHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('content-security-policy', CSP).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer').header('x-frame-options', 'DENY');
}

export async function serveDashboard(app: App, webDir = defaultWebDir()): Promise<boolean> {
  if (!existsSync(join(webDir, 'index.html'))) {
    app.log.warn({ webDir }, 'no built dashboard (npm run build makes dist/web); / is not served');
    return false;
  }
  await app.register(fastifyStatic, { root: webDir, serve: false, decorateReply: true });
  const assets = join(webDir, 'assets');
  const index = (reply: FastifyReply) => pageHeaders(reply).header('cache-control', 'no-cache').sendFile('index.html', webDir, { cacheControl: false });

  // Vite names every asset by its content hash: a changed file is a new name, so they never go stale.
  app.get('/assets/*', { config: { role: 'public' }, schema: { hide: true } }, (req, reply) => {
    const file = (req.params as { '*': string })['*'];
    return pageHeaders(reply).sendFile(file, assets, { immutable: true, maxAge: DEFAULTS.server.webAssetMaxAgeMs });
  });
  app.get('/', { config: { role: 'public' }, schema: { hide: true } }, (_req, reply) => index(reply));
  app.get('/*', { config: { role: 'public' }, schema: { hide: true } }, (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (NOT_DASHBOARD.test(path)) return reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route GET ${path}`, hint: 'see /api/v1/openapi.json' } });
    // A file at the top of the build (favicon.svg ...): sent as it is; anything else is a client route.
    if (extname(path) && !path.slice(1).includes('/') && existsSync(join(webDir, path.slice(1)))) return pageHeaders(reply).sendFile(path.slice(1), webDir, { maxAge: DEFAULTS.server.webFileMaxAgeMs });
    return index(reply);
  });
  return true;
}
