/** A deployment's facts: what, who, when, how long, and the seeds' fields. */
import { useEffect, useState } from 'react';
import type { Deployment } from '../api/types';
import { duration, since, time } from '../lib/format';
import { StatusBadge } from './StatusBadge';

export function DeploymentFacts({ d, final }: { d: Deployment; final?: string }) {
  const running = !final && !d.finished_at;
  const [, tick] = useState(0);
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [running]);
  const status = final ?? d.status;
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd data-testid="deployment-status"><StatusBadge status={status} /></dd>
      <dt>App / target</dt>
      <dd>{d.app} / {d.target} {d.deployment_type ? <span className="muted">({d.deployment_type})</span> : null}</dd>
      <dt>Kind</dt>
      <dd>{d.kind}</dd>
      <dt>Triggered by</dt>
      <dd>{d.trigger ? `${d.trigger.via === 'git-push' ? 'git push' : 'API'} · ${d.trigger.by}` : d.requested_by}</dd>
      <dt>Started</dt>
      <dd>{time(d.started_at ?? d.created_at)}</dd>
      <dt>Duration</dt>
      <dd>{d.duration_ms !== null && d.duration_ms !== undefined ? duration(d.duration_ms) : duration(since(d.started_at))}</dd>
      <dt>external_id</dt>
      <dd className="mono" data-field="external_id">{d.external_id ?? '—'}</dd>
      <dt>access_url</dt>
      <dd data-field="access_url">{d.access_url ? <a href={d.access_url} target="_blank" rel="noopener noreferrer" className="access-url">{d.access_url}</a> : '—'}</dd>
      <dt>registry_image</dt>
      <dd className="mono" data-field="registry_image">{d.registry_image ?? '—'}</dd>
      {d.error ? (<><dt>Error</dt><dd className="error">{d.error}</dd></>) : null}
    </dl>
  );
}
