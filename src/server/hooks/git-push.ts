/**
 * The server's git-push handler: the triggers' handleGitPush (signature, replay, payload,
 * branch -> targets) with its deps built from the server's context. The hook comes from
 * the stored config, delivery ids from hook_deliveries, the pushed commit is checked out
 * under `<data>/checkouts`, and each target's deploy is a queued job of that checkout
 * (the response, 202, lists the deployment ids).
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { appFor } from '../apps.js';
import type { GitPushHandler, ServerContext } from '../context.js';
import type { Job } from '../jobs/queue.js';
import { deploymentView, enqueueJob } from '../jobs/enqueue.js';
import { fetchCommit, handleGitPush, type GitPushDeps } from '../triggers/index.js';
import { readGitHook } from './config.js';
import { HookDeliveryStore } from './delivery-store.js';

export const checkoutsDir = (dataDir: string): string => join(dataDir, 'checkouts');

export function gitPushDeps(ctx: ServerContext): GitPushDeps {
  return {
    hook: (app) => readGitHook(ctx.db, ctx.dataDir, app),
    replay: new HookDeliveryStore(ctx.db),
    fetchCommit: async (repoUrl, commit, ref) => {
      const parentDir = checkoutsDir(ctx.dataDir);
      await mkdir(parentDir, { recursive: true, mode: 0o700 });
      return fetchCommit(repoUrl, commit, { parentDir, ref });
    },
    deploy: async (app, target, dir, commit) => {
      const { job } = await enqueueJob(ctx, { app: await appFor(ctx.db, app, null), kind: 'deploy', target, params: { sourceDir: dir }, requestedBy: `hook:git:${commit.slice(0, 12)}` });
      const v = deploymentView(job);
      return { id: v.id, status: v.status, target: v.target };
    },
  };
}

export const gitPushHandler: GitPushHandler = (input, ctx) => handleGitPush(input, gitPushDeps(ctx));

/**
 * A finished deploy's checkout is not needed any more (the target built its release from it:
 * a copied directory, an image): removed, and only ever a directory under `<data>/checkouts`.
 */
export async function removeCheckout(dataDir: string, job: Pick<Job, 'kind' | 'params'>): Promise<void> {
  if (job.kind !== 'deploy') return;
  const dir = (JSON.parse(job.params) as { sourceDir?: unknown }).sourceDir;
  if (typeof dir !== 'string') return;
  const parent = resolve(checkoutsDir(dataDir));
  const target = resolve(dir);
  if (!target.startsWith(parent + sep)) return;
  await rm(target, { recursive: true, force: true });
}
