/** One app: each target (state, release, health, access URL, controls, logs, history) and its deployments. */
import { enc } from '../api/client';
import type { AppStatus, Deployment } from '../api/types';
import { Controls } from '../components/Controls';
import { DeploymentTable } from '../components/DeploymentTable';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { TargetSummary } from '../components/TargetSummary';
import { canDeploy, useSession } from '../lib/session-context';
import { useApi } from '../lib/useApi';

export function AppPage({ app }: { app: string }) {
  const s = useSession();
  const status = useApi<AppStatus>(`/api/v1/apps/${enc(app)}/status`, 5000);
  const deps = useApi<{ deployments: Deployment[] }>(`/api/v1/apps/${enc(app)}/deployments?limit=20`, 5000);
  const reload = () => {
    status.reload();
    deps.reload();
  };
  return (
    <section>
      <div className="page-head">
        <h1>{app}</h1>
        {canDeploy(s) && <Link to={`/deploy?app=${enc(app)}`} className="button primary">Deploy</Link>}
      </div>
      <ErrorNote error={status.error} />
      {status.data?.targets.map((t) => (
        <article key={t.target} className="card" aria-label={`Target ${t.target}`}>
          <TargetSummary t={t} />
          <div className="row">
            <Link to={`/apps/${enc(app)}/logs?target=${enc(t.target)}`}>Logs</Link>
            <Link to={`/apps/${enc(app)}/history?target=${enc(t.target)}`}>History</Link>
          </div>
          {canDeploy(s) && <Controls app={app} target={t.target} onDone={reload} />}
        </article>
      ))}
      <h2>Deployments</h2>
      <ErrorNote error={deps.error} />
      {deps.data && <DeploymentTable deployments={deps.data.deployments} />}
    </section>
  );
}
