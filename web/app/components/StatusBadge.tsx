/** A state word with its colour (and the word itself, so colour is never the only cue). */
const TONE: Record<string, string> = {
  succeeded: 'ok', running: 'ok', healthy: 'ok',
  failed: 'bad', rolled_back: 'warn', degraded: 'warn', needs_secrets: 'warn', unreachable: 'bad', unhealthy: 'bad', cancelled: 'muted',
  queued: 'info', deploying: 'info', stopped: 'muted', not_deployed: 'muted', scaled_to_zero: 'muted',
};

export function StatusBadge({ status, label }: { status: string; label?: string }) {
  return <span className={`badge ${TONE[status] ?? 'info'}`} data-status={status}>{label ?? status.replace(/_/g, ' ')}</span>;
}
