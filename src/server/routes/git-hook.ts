/** An app's git-push hook: which branch deploys to which targets, and the secret its pushes are signed with (shown once). */
import { z } from 'zod';
import { appFor, loadApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { ApiError, notFound } from '../http/api-error.js';
import { projectOf, type App } from '../http/app.js';
import { hookSettings, newHookSecret, removeGitHook, saveGitHook } from '../hooks/config.js';
import { checkBranch, checkRepoUrl } from '../triggers/index.js';
import { AnyOut, Id, needs } from './schemas.js';

const Branch = z.string().min(1).max(255);
const HookBody = z.strictObject({
  /** The webhook's shared secret; a random one is made (and returned, once) when it is not given. */
  secret: z.string().min(16).max(512).optional(),
  branches: z.record(Branch, z.array(Id).min(1).max(32)),
  repo_url: z.string().min(1).max(2048).optional(),
});

const hookPath = (app: string): string => `/api/v1/hooks/git/${app}`;

export function gitHookRoutes(app: App, ctx: ServerContext): void {
  app.put('/api/v1/apps/:app/git-hook', {
    config: { role: 'deployer' },
    schema: {
      tags: ['hooks'],
      description: needs('deployer', "Set the app's git-push hook: branch -> targets, and optionally the repository to fetch (else the payload's). The secret is generated when not given and returned in this answer only; it is stored encrypted and never returned again."),
      params: z.strictObject({ app: Id }),
      body: HookBody,
      response: { 200: AnyOut },
    },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const { loaded } = loadApp(a);
      const targets = ctx.face.engine.targetNames(loaded);
      for (const [branch, names] of Object.entries(req.body.branches)) {
        checkBranch(branch);
        const unknown = names.filter((n) => !targets.includes(n));
        if (unknown.length) throw new ApiError(400, 'TARGET_UNKNOWN', `branch ${branch}: app ${a.name} has no target ${unknown.join(', ')}`, `its targets: ${targets.join(', ')}`);
      }
      if (req.body.repo_url !== undefined) checkRepoUrl(req.body.repo_url);
      const generated = req.body.secret === undefined;
      const secret = req.body.secret ?? newHookSecret();
      const s = await saveGitHook(ctx.db, ctx.dataDir, a.name, { secret, branches: req.body.branches, repoUrl: req.body.repo_url });
      return { app: a.name, hook_url: hookPath(a.name), branches: s.branches, repo_url: s.repoUrl, updated_at: s.updatedAt, ...(generated ? { secret, secret_shown_once: true } : {}) };
    },
  });

  app.get('/api/v1/apps/:app/git-hook', {
    config: { role: 'viewer' },
    schema: { tags: ['hooks'], description: needs('viewer', "The app's git-push hook (never its secret)."), params: z.strictObject({ app: Id }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      const s = await hookSettings(ctx.db, a.name);
      if (!s) throw notFound(`git hook of app ${a.name}`);
      return { app: a.name, hook_url: hookPath(a.name), branches: s.branches, repo_url: s.repoUrl, updated_at: s.updatedAt };
    },
  });

  app.delete('/api/v1/apps/:app/git-hook', {
    config: { role: 'deployer' },
    schema: { tags: ['hooks'], description: needs('deployer', "Remove the app's git-push hook: its pushes are refused (404) from then on."), params: z.strictObject({ app: Id }), response: { 200: AnyOut } },
    handler: async (req) => {
      const a = await appFor(ctx.db, req.params.app, projectOf(req));
      if (!(await removeGitHook(ctx.db, ctx.dataDir, a.name))) throw notFound(`git hook of app ${a.name}`);
      return { app: a.name, removed: true };
    },
  });
}
