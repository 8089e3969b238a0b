import { randomUUID } from 'node:crypto';
import type { SecretValues } from '../../core/redact.js';
import { hmacSha256Header } from '../triggers/signature.js';
import { postWithRetries, type DeliveryOptions, type DeliveryResult } from './deliver.js';
import { noticeBody, type DeploymentNotice, type NotifyKind } from './event.js';
import { slackPayload } from './slack.js';

/**
 * Where notifications go. `webhook`: Gantry's own signed JSON; `slack`: an incoming-webhook url
 * (Slack or anything that takes its { text, blocks } payload). `on` limits the kinds sent (default: all).
 */
export type NotifyChannel =
  | { type: 'webhook'; url: string; secret: string; on?: NotifyKind[] }
  | { type: 'slack'; url: string; on?: NotifyKind[] };

export interface ChannelResult extends DeliveryResult {
  type: NotifyChannel['type'];
  /** The channel's index in the configuration (its url is not repeated: it may be a credential). */
  channel: number;
}

export const SIGNATURE_HEADER = 'x-gantry-signature';
export const TIMESTAMP_HEADER = 'x-gantry-timestamp';
export const DELIVERY_HEADER = 'x-gantry-delivery';

/**
 * The generic webhook's body and headers. The body carries its own `timestamp` and `delivery`
 * (equal to the X-Gantry-Timestamp and X-Gantry-Delivery headers), so X-Gantry-Signature,
 * `sha256=` HMAC-SHA256 of the body with the channel's secret, covers them: a receiver checks
 * the signature, then that the timestamp is recent and the delivery id new.
 */
export function signedWebhook(secret: string, notice: DeploymentNotice, secrets: SecretValues = {}, now = new Date()): { body: string; headers: Record<string, string> } {
  const timestamp = Math.floor(now.getTime() / 1000);
  const delivery = randomUUID();
  const body = JSON.stringify({ type: `deployment.${notice.kind}`, timestamp, delivery, data: noticeBody(notice, withChannelSecret(secrets, secret)) });
  return { body, headers: { [SIGNATURE_HEADER]: hmacSha256Header(secret, body), [TIMESTAMP_HEADER]: String(timestamp), [DELIVERY_HEADER]: delivery } };
}

/** Sends deployment notices to every configured channel at once; never throws, never fails a deploy. */
export class Notifier {
  /** Every channel's credentials: no payload, to any channel, may carry one of them. */
  private readonly channelSecrets: [string, string][];

  constructor(
    private readonly channels: NotifyChannel[],
    private readonly opts: DeliveryOptions & { secrets?: () => SecretValues } = {},
  ) {
    this.channelSecrets = channels.flatMap((ch) => (ch.type === 'webhook' ? [ch.secret, ch.url] : [ch.url, ...urlTokens(ch.url)]).map((v): [string, string] => ['notify channel', v]));
  }

  async notify(notice: DeploymentNotice): Promise<ChannelResult[]> {
    const secrets = [...pairsOf(this.opts.secrets?.() ?? {}), ...this.channelSecrets];
    return Promise.all(
      this.channels.map(async (ch, channel): Promise<ChannelResult | undefined> => {
        if (ch.on && !ch.on.includes(notice.kind)) return undefined;
        if (ch.type === 'webhook') {
          const { body, headers } = signedWebhook(ch.secret, notice, secrets);
          return { type: ch.type, channel, ...(await postWithRetries(ch.url, body, () => headers, this.opts)) };
        }
        const body = JSON.stringify(slackPayload(noticeBody(notice, secrets)));
        return { type: ch.type, channel, ...(await postWithRetries(ch.url, body, () => ({}), this.opts)) };
      }),
    ).then((all) => all.filter((r): r is ChannelResult => r !== undefined));
  }
}

function pairsOf(secrets: SecretValues): [string, string][] {
  return Symbol.iterator in secrets ? [...(secrets as Iterable<[string, string]>)] : Object.entries(secrets as Record<string, string>);
}

function withChannelSecret(secrets: SecretValues, value: string): [string, string][] {
  return [...pairsOf(secrets), ['notify channel', value]];
}

/** A Slack-style url's path segments long enough to be its token (…/services/T…/B…/<token>), and its query. */
function urlTokens(url: string): string[] {
  try {
    const u = new URL(url);
    return [...u.pathname.split('/').filter((p) => p.length >= 16), ...(u.search.length > 16 ? [u.search.slice(1)] : []), ...(u.password ? [u.password] : [])];
  } catch {
    return [];
  }
}
