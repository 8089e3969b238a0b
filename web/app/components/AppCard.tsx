/** One app on the apps page: its targets with state, release, health and access URL. */
import type { AppStatus, AppSummary } from '../api/types';
import { enc } from '../api/client';
import { useApi } from '../lib/useApi';
import { ErrorNote } from './ErrorNote';
import { Link } from './Link';
import { TargetSummary } from './TargetSummary';

export function AppCard({ app }: { app: AppSummary }) {
  const { data, error } = useApi<AppStatus>(`/api/v1/apps/${enc(app.name)}/status`, 5000);
  return (
    <article className="card app-card" aria-labelledby={`app-${app.name}`}>
      <h2 id={`app-${app.name}`}>
        <Link to={`/apps/${enc(app.name)}`}>{app.name}</Link> <span className="muted small">{app.project}</span>
      </h2>
      <ErrorNote error={error} />
      {data?.targets.map((t) => <TargetSummary key={t.target} t={t} />)}
      {!data && !error && <p className="muted">Loading…</p>}
    </article>
  );
}
