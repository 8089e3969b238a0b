/** Every app of the project, each target's state, release, health and access URL. */
import type { AppSummary } from '../api/types';
import { AppCard } from '../components/AppCard';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { useApi } from '../lib/useApi';
import { canDeploy, useSession } from '../lib/session-context';

export function AppsPage() {
  const s = useSession();
  const { data, error } = useApi<{ apps: AppSummary[] }>('/api/v1/apps', 10_000);
  const apps = (data?.apps ?? []).filter((a) => !s.project || a.project === s.project);
  return (
    <section>
      <div className="page-head">
        <h1>Apps</h1>
        {canDeploy(s) && <Link to="/deploy" className="button primary">New deployment</Link>}
      </div>
      <ErrorNote error={error} />
      {data && apps.length === 0 && <p className="muted">No apps yet: register one with <code>POST /api/v1/projects/&#123;project&#125;/apps</code>.</p>}
      <div className="cards">
        {apps.map((a) => (
          <AppCard key={a.name} app={a} />
        ))}
      </div>
    </section>
  );
}
