/** Step 5: live progress; once it succeeded, the access URL, the logs and start/stop/restart. */
import { enc } from '../api/client';
import { Controls } from '../components/Controls';
import { DeploymentFacts } from '../components/DeploymentFacts';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { StepTimeline } from '../components/StepTimeline';
import { LogViewer } from '../logs/LogViewer';
import { useDeploymentStream } from '../lib/useDeploymentStream';

export function ProgressStep({ id }: { id: string }) {
  const s = useDeploymentStream(id);
  const d = s.deployment;
  return (
    <div>
      <h2>Progress</h2>
      {s.error && <ErrorNote error={new Error(s.error)} />}
      {d && <DeploymentFacts d={d} final={s.final} />}
      <StepTimeline events={s.events} live={!s.final} />
      {d && s.final === 'succeeded' && (
        <>
          <h2>Access</h2>
          <p>
            {d.access_url ? <a href={d.access_url} target="_blank" rel="noopener noreferrer" className="access-url big">Open {d.access_url}</a> : 'This platform gives no access URL.'}{' '}
            <Link to={`/deployments/${enc(d.id)}`}>Deployment details</Link> · <Link to={`/apps/${enc(d.app)}/history?target=${enc(d.target)}`}>History</Link>
          </p>
          <Controls app={d.app} target={d.target} />
          <h2>Logs</h2>
          <LogViewer app={d.app} target={d.target} />
        </>
      )}
    </div>
  );
}
