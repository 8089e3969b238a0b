import { DEFAULTS } from '../../core/defaults.js';
import { redactUrl } from './git-cli.js';
import { PayloadError, readPushEvent, type GitProvider, type PushEvent } from './push-payload.js';
import type { ReplayStore } from './replay-store.js';
import { tokensEqual, verifyHmacSha256 } from './signature.js';

/** How an app takes git pushes (from its registration). */
export interface GitHookConfig {
  /** The shared secret: GitHub's HMAC key, GitLab's token. */
  secret: string;
  /** Branch -> the targets a push to it deploys (e.g. { main: ['production'], develop: ['staging'] }). */
  branches: Record<string, string[]>;
  /** The registered repository; when set it is fetched, never the url a payload names. */
  repoUrl?: string;
}

export interface GitPushDeps {
  /** The app's hook config, or undefined when the app is unknown or takes no git pushes (404). */
  hook: (app: string) => GitHookConfig | undefined | Promise<GitHookConfig | undefined>;
  replay: ReplayStore;
  /** The pushed commit's tree in a fresh directory (fetchCommit of ./git-cli.ts, bound to a data dir). */
  fetchCommit: (repoUrl: string, commit: string, ref: string) => Promise<string>;
  /** Deploys that tree to one target (the server enqueues a job; its answer goes in the response). */
  deploy: (app: string, target: string, dir: string, commit: string) => Promise<unknown>;
}

export interface GitPushInput {
  app: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface HookResponse {
  status: number;
  body: unknown;
}

const fail = (status: number, code: string, message: string, hint?: string): HookResponse => ({ status, body: { error: { code, message, ...(hint ? { hint } : {}) } } });

/**
 * POST /api/v1/hooks/git/{app}: a GitHub- or GitLab-style push deploys the pushed commit to the
 * targets mapped to its branch. In order: the app must take hooks (404); the request must be
 * signed with the app's secret (401: no signature, or a wrong one; HMAC-SHA256 or GitLab's token,
 * both compared in constant time); the body must be JSON of a push (400); a delivery id seen
 * before is refused (409); a branch mapped to no target, a deleted branch or a tag is ignored (202).
 * Only then is the commit fetched and deployed. In every refused case nothing is fetched or deployed.
 */
export async function handleGitPush(input: GitPushInput, deps: GitPushDeps): Promise<HookResponse> {
  const headers = lowerCase(input.headers);
  const hook = await deps.hook(input.app);
  if (!hook || !hook.secret) return fail(404, 'NOT_FOUND', `no git hook for app ${JSON.stringify(input.app)}`, 'register the app with a git hook secret first');
  if (input.rawBody.length > DEFAULTS.gitTrigger.maxBodyBytes) return fail(413, 'PAYLOAD_TOO_LARGE', `the payload is over ${DEFAULTS.gitTrigger.maxBodyBytes} bytes`);

  const provider = providerOf(headers);
  if (!provider) return fail(401, 'UNAUTHORIZED', 'the request is not signed', 'GitHub: set the webhook secret (X-Hub-Signature-256); GitLab: set the secret token (X-Gitlab-Token)');
  const signed =
    provider === 'github' ? verifyHmacSha256(hook.secret, input.rawBody, single(headers['x-hub-signature-256'])) : tokensEqual(hook.secret, single(headers['x-gitlab-token']));
  if (!signed) {
    const given = provider === 'github' ? headers['x-hub-signature-256'] : headers['x-gitlab-token'];
    return given === undefined
      ? fail(401, 'UNAUTHORIZED', 'the request is not signed', provider === 'github' ? 'set the webhook secret so GitHub sends X-Hub-Signature-256' : 'set the secret token so GitLab sends X-Gitlab-Token')
      : fail(401, 'UNAUTHORIZED', 'the signature does not match', "the webhook's secret must be the app's hook secret");
  }

  const event = single(provider === 'github' ? headers['x-github-event'] : headers['x-gitlab-event']);
  if (provider === 'github' && event === 'ping') return { status: 200, body: { ok: true, pong: true } };
  if (event !== (provider === 'github' ? 'push' : 'Push Hook')) return { status: 202, body: { ignored: true, reason: `event ${JSON.stringify(event ?? null)} is not a push` } };

  const deliveryId = single(provider === 'github' ? headers['x-github-delivery'] : (headers['x-gitlab-event-uuid'] ?? headers['x-gitlab-webhook-uuid']));
  if (!deliveryId || deliveryId.length > 200) return fail(400, 'BAD_REQUEST', `the ${provider === 'github' ? 'X-GitHub-Delivery' : 'X-Gitlab-Event-UUID'} header is missing`, 'a delivery id is required to refuse replays');

  let push: PushEvent;
  try {
    push = readPushEvent(provider, JSON.parse(input.rawBody.toString('utf8')));
  } catch (e) {
    const why = e instanceof PayloadError ? e.message : 'the body is not valid JSON';
    return fail(400, 'BAD_REQUEST', `not a push payload: ${why}`);
  }

  if (!(await deps.replay.remember(`git:${input.app}`, deliveryId))) return fail(409, 'CONFLICT', `delivery ${deliveryId} was already received`, 'a replayed delivery is refused; push again to deploy');

  const targets = push.branch !== undefined && Object.hasOwn(hook.branches, push.branch) ? hook.branches[push.branch] : [];
  if (!push.commit || targets.length === 0) {
    const reason = !push.branch ? `${push.ref} is not a branch` : !push.commit ? `branch ${push.branch} was deleted` : `branch ${push.branch} is mapped to no target`;
    return { status: 202, body: { ignored: true, reason, deliveryId } };
  }
  const repoUrl = hook.repoUrl ?? push.repoUrl;
  if (!repoUrl) return fail(400, 'BAD_REQUEST', 'the payload names no repository url', 'register the app with its git url');

  let dir: string;
  try {
    dir = await deps.fetchCommit(repoUrl, push.commit, push.ref);
  } catch (e) {
    // A redelivery of this push (same id) may try again.
    await deps.replay.forget(`git:${input.app}`, deliveryId).catch(() => undefined);
    return fail(502, 'GIT_FETCH_FAILED', redactUrl((e as Error).message), (e as { hint?: string }).hint);
  }
  const deployments: { target: string; result?: unknown; error?: { code: string; message: string } }[] = [];
  for (const target of targets) {
    try {
      deployments.push({ target, result: await deps.deploy(input.app, target, dir, push.commit) });
    } catch (e) {
      deployments.push({ target, error: { code: (e as { code?: string }).code ?? 'INTERNAL', message: (e as Error).message } });
    }
  }
  return { status: 202, body: { app: input.app, branch: push.branch, commit: push.commit, deliveryId, provider, deployments } };
}

function providerOf(h: Record<string, string | string[] | undefined>): GitProvider | undefined {
  if (h['x-github-event'] !== undefined || h['x-hub-signature-256'] !== undefined || h['x-github-delivery'] !== undefined) return 'github';
  if (h['x-gitlab-event'] !== undefined || h['x-gitlab-token'] !== undefined) return 'gitlab';
  return undefined;
}

/** A header given twice is not trusted as either value. */
function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function lowerCase(h: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
  return out;
}
