export { Notifier, signedWebhook, SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER, type ChannelResult, type NotifyChannel } from './notifier.js';
export { noticeBody, type DeploymentNotice, type NotifyKind } from './event.js';
export { slackPayload } from './slack.js';
export { postWithRetries, type DeliveryOptions, type DeliveryResult } from './deliver.js';
export { verifyHmacSha256 } from '../triggers/signature.js';
export { jobNotices, endKind, type JobNotices } from './job-notices.js';
