/** A target's state in one line: state, release, healthy instances, access URL. */
import type { TargetStatus } from '../api/types';
import { StatusBadge } from './StatusBadge';

export function TargetSummary({ t }: { t: TargetStatus }) {
  const healthy = t.instances.filter((i) => i.healthy).length;
  return (
    <dl className="target-summary" data-target={t.target}>
      <dt>Target</dt>
      <dd>
        <strong>{t.target}</strong> <span className="muted">({t.type})</span> <StatusBadge status={t.state} />
      </dd>
      <dt>Release</dt>
      <dd className="mono">{t.release ?? '—'}</dd>
      <dt>Health</dt>
      <dd>
        {t.instances.length ? `${healthy}/${t.instances.length} healthy` : 'no instance'}
        {t.deploying ? <span className="muted"> · {t.deploying.kind ?? 'deploy'}: {t.deploying.phase}</span> : null}
      </dd>
      <dt>Access URL</dt>
      <dd>{t.url ? <a href={t.url} target="_blank" rel="noopener noreferrer" className="access-url">{t.url}</a> : '—'}</dd>
    </dl>
  );
}
