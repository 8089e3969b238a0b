/** A canary in progress: its analysis figures live, and promote / abort. */
import { useState } from 'react';
import { api, enc } from '../api/client';
import { AnalysisChart } from '../components/AnalysisChart';
import { ErrorNote } from '../components/ErrorNote';
import { analysisPoints, trafficPoints } from '../lib/analysis';
import { useDeploymentStream } from '../lib/useDeploymentStream';

export function CanaryPanel({ app, target, jobId, phase, traffic, release }: { app: string; target: string; jobId: string; phase: string; traffic?: unknown; release?: string }) {
  const s = useDeploymentStream(jobId);
  const [error, setError] = useState<unknown>();
  const [sent, setSent] = useState<string>();
  const points = analysisPoints(s.events, s.deployment?.result);
  const live = trafficPoints(traffic, release);
  const signal = async (what: 'promote' | 'abort') => {
    setError(undefined);
    try {
      await api(`/api/v1/apps/${enc(app)}/${what}`, { method: 'POST', body: { target } });
      setSent(what);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="card" aria-labelledby="canary-title">
      <h2 id="canary-title">Rollout in progress: {phase}</h2>
      {live.length > 0 && <AnalysisChart points={live} title="Live, per release (the proxy's figures)" />}
      {points.length > 0 ? <AnalysisChart points={points} /> : <p className="muted">No step judged yet.</p>}
      <div className="row">
        <button type="button" className="primary" onClick={() => void signal('promote')}>Promote</button>
        <button type="button" className="danger" onClick={() => void signal('abort')}>Abort</button>
        {sent && <span role="status">{sent} sent</span>}
      </div>
      <ErrorNote error={error} />
    </section>
  );
}
