/** One deployment: its facts, redacted config, step timeline (live), nodes and canary analysis. */
import { enc } from '../api/client';
import { AnalysisChart } from '../components/AnalysisChart';
import { DeploymentFacts } from '../components/DeploymentFacts';
import { ErrorNote } from '../components/ErrorNote';
import { Link } from '../components/Link';
import { NodeOutcomes } from '../components/NodeOutcomes';
import { StepTimeline } from '../components/StepTimeline';
import { analysisPoints } from '../lib/analysis';
import { useDeploymentStream } from '../lib/useDeploymentStream';

export function DeploymentPage({ id }: { id: string }) {
  const s = useDeploymentStream(id);
  const d = s.deployment;
  const points = analysisPoints(s.events, d?.result);
  return (
    <section>
      <div className="page-head">
        <h1>Deployment <span className="mono">{id}</span></h1>
        {d && <Link to={`/apps/${enc(d.app)}`}>Back to {d.app}</Link>}
      </div>
      {s.error && <ErrorNote error={new Error(s.error)} />}
      {d && <DeploymentFacts d={d} final={s.final} />}
      {points.length > 0 && <AnalysisChart points={points} />}
      <NodeOutcomes nodes={d?.result?.nodes} />
      <h2>Steps</h2>
      <StepTimeline events={s.events} live={!s.final} />
      {d?.config && (
        <details>
          <summary>Config (redacted)</summary>
          <pre className="config" aria-label="Redacted config">{JSON.stringify({ deployment_type: d.deployment_type, adapter: d.adapter, ...d.config }, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}
