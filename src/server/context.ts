/** What every route handler shares. */
import type { Kysely } from 'kysely';
import type { FailureLimiter } from './auth/rate-limit.js';
import type { KeyVerifier } from './auth/keys.js';
import type { ServerDatabase } from './db/schema.js';
import type { DialectName } from './db/open.js';
import type { EngineFace } from './engine-face.js';
import type { JobQueue } from './jobs/queue.js';
import type { Workers } from './jobs/worker.js';
import type { ServerMetrics } from './metrics.js';
import type { SourceWatchers } from './sources/source-watchers.js';

/** The git-push trigger (src/server/hooks/git-push.ts by default; without one the route answers 501). */
export type GitPushHandler = (input: { app: string; headers: Record<string, string | string[] | undefined>; rawBody: Buffer }, deps: ServerContext) => Promise<{ status: number; body: unknown }>;

export interface ServerContext {
  db: Kysely<ServerDatabase>;
  dialect: DialectName;
  queue: JobQueue;
  face: EngineFace;
  keys: KeyVerifier;
  limiter: FailureLimiter;
  workers: Workers;
  metrics: ServerMetrics;
  dataDir: string;
  handleGitPush?: GitPushHandler;
  /** Polls the branches of apps registered from git with `watch`. */
  sources: SourceWatchers;
}
