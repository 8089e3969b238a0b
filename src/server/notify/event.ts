import { redactDeep, type SecretValues } from '../../core/redact.js';

/** What a notification tells: one moment of a deployment. */
export type NotifyKind = 'start' | 'success' | 'failure' | 'rollback';

export interface DeploymentNotice {
  kind: NotifyKind;
  app: string;
  target: string;
  deploymentId: string;
  release?: string;
  commit?: string;
  /** Why it failed or rolled back (engine reasons carry no secret values; redacted again here). */
  reason?: string;
  url?: string;
  durationMs?: number;
  /** The key id or trigger that asked for it (never a key itself). */
  by?: string;
}

/**
 * The JSON every channel starts from: only the fields named here (a notice with more
 * fields, such as a deployment record holding env values, never passes them on), and
 * every string redacted of the secret values known to the sender.
 */
export function noticeBody(notice: DeploymentNotice, secrets: SecretValues = {}): Record<string, unknown> {
  const picked: Record<string, unknown> = {
    kind: notice.kind,
    app: notice.app,
    target: notice.target,
    deployment_id: notice.deploymentId,
  };
  if (notice.release !== undefined) picked.release = notice.release;
  if (notice.commit !== undefined) picked.commit = notice.commit;
  if (notice.reason !== undefined) picked.reason = notice.reason;
  if (notice.url !== undefined) picked.url = notice.url;
  if (notice.durationMs !== undefined) picked.duration_ms = notice.durationMs;
  if (notice.by !== undefined) picked.by = notice.by;
  return redactDeep(picked, secrets);
}

export const KIND_WORDS: Record<NotifyKind, string> = {
  start: 'started',
  success: 'succeeded',
  failure: 'failed',
  rollback: 'rolled back',
};
