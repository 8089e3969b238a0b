/**
 * What a push webhook says, from GitHub's and GitLab's payloads alike. Only the fields a deploy
 * needs are read; everything else in the payload is ignored.
 */
export type GitProvider = 'github' | 'gitlab';

export interface PushEvent {
  provider: GitProvider;
  /** refs/heads/<branch> */
  ref: string;
  /** The branch, or undefined for a tag or another ref. */
  branch: string | undefined;
  /** The pushed commit (40 hex), or undefined when the push deleted the ref. */
  commit: string | undefined;
  /** Where to fetch it from, as the payload names it. */
  repoUrl: string | undefined;
}

export const SHA_RE = /^[0-9a-f]{40}$/;
const ZERO_SHA = '0'.repeat(40);

export class PayloadError extends Error {}

/** The push event of a payload already parsed as JSON; PayloadError when its shape is wrong. */
export function readPushEvent(provider: GitProvider, payload: unknown): PushEvent {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new PayloadError('the payload is not a JSON object');
  const p = payload as Record<string, any>;
  const ref = p.ref;
  if (typeof ref !== 'string' || !ref.startsWith('refs/')) throw new PayloadError('the payload has no "ref" (refs/heads/<branch>)');
  // GitHub: `after` is the new head; GitLab: `checkout_sha` (null when the branch was deleted), `after` besides.
  const raw = provider === 'github' ? p.after : (p.checkout_sha ?? p.after);
  if (raw !== null && raw !== undefined && typeof raw !== 'string') throw new PayloadError('the pushed commit is not a string');
  const sha = typeof raw === 'string' ? raw.toLowerCase() : undefined;
  if (sha !== undefined && !SHA_RE.test(sha)) throw new PayloadError('the pushed commit is not a 40-hex sha');
  const repoUrl = provider === 'github' ? p.repository?.clone_url : (p.project?.git_http_url ?? p.repository?.git_http_url);
  if (repoUrl !== undefined && typeof repoUrl !== 'string') throw new PayloadError('the repository url is not a string');
  return {
    provider,
    ref,
    branch: ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined,
    commit: sha === undefined || sha === ZERO_SHA ? undefined : sha,
    repoUrl,
  };
}
