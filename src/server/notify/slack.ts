import { KIND_WORDS, type NotifyKind } from './event.js';

const EMOJI: Record<NotifyKind, string> = { start: ':rocket:', success: ':white_check_mark:', failure: ':x:', rollback: ':leftwards_arrow_with_hook:' };

/** Slack's mrkdwn treats &, < and > as markup: escaped in anything that came from outside. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A Slack-compatible incoming-webhook payload ({ text, blocks }) from a notice body (noticeBody). */
export function slackPayload(body: Record<string, unknown>): { text: string; blocks: unknown[] } {
  const kind = body.kind as NotifyKind;
  const s = (k: string) => (body[k] === undefined ? undefined : esc(String(body[k])));
  const text = `${EMOJI[kind]} Deploy of ${s('app')} to ${s('target')} ${KIND_WORDS[kind]}${body.release ? ` (release ${s('release')})` : ''}`;
  const fields = [
    { type: 'mrkdwn', text: `*App*\n${s('app')}` },
    { type: 'mrkdwn', text: `*Target*\n${s('target')}` },
    ...(body.release ? [{ type: 'mrkdwn', text: `*Release*\n${s('release')}` }] : []),
    ...(body.commit ? [{ type: 'mrkdwn', text: `*Commit*\n\`${s('commit')!.slice(0, 12)}\`` }] : []),
    ...(body.duration_ms !== undefined ? [{ type: 'mrkdwn', text: `*Duration*\n${(Number(body.duration_ms) / 1000).toFixed(1)} s` }] : []),
  ];
  const blocks: unknown[] = [
    { type: 'section', text: { type: 'mrkdwn', text: `*${text}*` } },
    { type: 'section', fields },
  ];
  if (body.reason) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*Reason*\n${s('reason')!.slice(0, 2900)}` } });
  const context = [`deployment ${s('deployment_id')}`, ...(body.url ? [`<${s('url')}|open>`] : []), ...(body.by ? [`by ${s('by')}`] : [])];
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text, blocks };
}
