/**
 * `gantry server`: the database, the engine (as the CLI hands it its parts), the
 * job workers and the HTTP API, started together and stopped in order.
 */
import { join, resolve } from 'node:path';
import { DEFAULTS } from '../core/defaults.js';
import { FailureLimiter } from './auth/rate-limit.js';
import { KeyVerifier } from './auth/keys.js';
import type { GitPushHandler, ServerContext } from './context.js';
import { openServerDb } from './db/open.js';
import { openEngineFace } from './engine-face.js';
import { gitPushHandler, removeCheckout } from './hooks/git-push.js';
import { buildApp, type App } from './http/app.js';
import { JobQueue } from './jobs/queue.js';
import { jobNotices, Notifier, type NotifyChannel } from './notify/index.js';
import { Workers } from './jobs/worker.js';
import { ServerMetrics } from './metrics.js';
import { adminRoutes } from './routes/admin.js';
import { appRoutes } from './routes/apps.js';
import { deploymentRoutes } from './routes/deployments.js';
import { gitHookRoutes } from './routes/git-hook.js';
import { opsRoutes } from './routes/ops.js';
import { seedRoutes } from './routes/seeds.js';
import { SourceWatchers } from './sources/source-watchers.js';
import { releaseConfigRoutes } from './routes/release-config.js';
import { targetRoutes } from './routes/targets.js';
import { serveDashboard } from './web/serve-dashboard.js';

export interface ServerOptions {
  dataDir: string;
  /** postgres://… or a SQLite file (default `<dataDir>/server.db`). */
  database?: string;
  host?: string;
  port?: number;
  workers?: number;
  leaseMs?: number;
  logLevel?: string;
  bodyLimit?: number;
  /** Failed authentications allowed per client address per window. */
  authFailureLimit?: number;
  /** Where deployment notices go (start, success, failure, rollback); none by default. */
  notify?: NotifyChannel[];
  /** The git-push trigger; default: src/server/hooks/git-push.ts (the triggers' handleGitPush on this server's store). */
  handleGitPush?: GitPushHandler;
  /** The built dashboard served at `/`; default dist/web of this package. */
  webDir?: string;
}

export interface RunningServer {
  app: App;
  ctx: ServerContext;
  url: string;
  close(): Promise<void>;
}

export const defaultDatabase = (dataDir: string): string => join(resolve(dataDir), 'server.db');

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const dataDir = resolve(opts.dataDir);
  const sdb = await openServerDb(opts.database ?? defaultDatabase(dataDir));
  const face = openEngineFace(dataDir, opts.database);
  const queue = new JobQueue(sdb.db, sdb.dialect);
  const metrics = new ServerMetrics(queue);
  const ctxPartial = { db: sdb.db, dialect: sdb.dialect, queue, face, metrics, dataDir, handleGitPush: opts.handleGitPush ?? gitPushHandler, keys: new KeyVerifier(sdb.db, DEFAULTS.server.keyCacheMs), limiter: new FailureLimiter(opts.authFailureLimit ?? DEFAULTS.server.authFailuresPerWindow, DEFAULTS.server.authFailureWindowMs) };
  const ctx = ctxPartial as ServerContext;
  const app = await buildApp(ctx, { logLevel: opts.logLevel, bodyLimit: opts.bodyLimit });
  const notices = opts.notify?.length ? jobNotices(new Notifier(opts.notify), sdb.db, { error: (o, m) => app.log.error(o, m) }) : undefined;
  ctx.workers = new Workers(face, queue, {
    count: opts.workers ?? DEFAULTS.server.workers,
    leaseMs: opts.leaseMs ?? DEFAULTS.server.jobLeaseMs,
    pollMs: DEFAULTS.server.jobPollMs,
    log: { info: (o, m) => app.log.info(o, m), error: (o, m) => app.log.error(o, m) },
    onStarted: (job) => notices?.started(job),
    onFinished: (job, state, ms) => {
      notices?.finished(job, state, ms);
      void removeCheckout(dataDir, job).catch((err: Error) => app.log.error({ job: job.id, err: err.message }, 'removing the checkout failed'));
      metrics.deploys.inc({ kind: job.kind, target: job.target, status: state });
      metrics.durations.observe({ kind: job.kind, target: job.target }, ms / 1000);
    },
  });
  ctx.sources = new SourceWatchers(ctx, { info: (o, m) => app.log.info(o, m), error: (o, m) => app.log.error(o, m) });
  adminRoutes(app, ctx);
  appRoutes(app, ctx);
  gitHookRoutes(app, ctx);
  deploymentRoutes(app, ctx);
  seedRoutes(app, ctx);
  opsRoutes(app, ctx);
  targetRoutes(app, ctx);
  releaseConfigRoutes(app, ctx);
  await serveDashboard(app, opts.webDir);
  await app.ready();
  const address = await app.listen({ host: opts.host ?? DEFAULTS.server.host, port: opts.port ?? DEFAULTS.server.port });
  ctx.workers.start();
  await ctx.sources.startAll();
  app.log.info({ url: address, database: sdb.where, dataDir }, 'gantry server listening');
  let closing: Promise<void> | undefined;
  return {
    app,
    ctx,
    url: address,
    close: () =>
      (closing ??= (async () => {
        await ctx.sources.stopAll();
        await app.close();
        await ctx.workers.stop();
        await notices?.settled();
        face.close();
        await sdb.close();
      })()),
  };
}
