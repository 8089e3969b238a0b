/** Start, stop and restart a target: each a job whose outcome is shown when it ends. */
import { useEffect, useState } from 'react';
import { api, enc } from '../api/client';
import type { Deployment } from '../api/types';
import { useDeploymentStream } from '../lib/useDeploymentStream';
import { ErrorNote } from './ErrorNote';
import { Link } from './Link';
import { StatusBadge } from './StatusBadge';

export function Controls({ app, target, onDone }: { app: string; target: string; onDone?: () => void }) {
  const [job, setJob] = useState<{ kind: string; id: string }>();
  const [error, setError] = useState<unknown>();
  const stream = useDeploymentStream(job?.id || undefined);
  const busy = job !== undefined && stream.final === undefined && !stream.error;

  const run = async (kind: 'start' | 'stop' | 'restart') => {
    setError(undefined);
    // The previous job's outcome goes at once: it must not read as this one's.
    setJob({ kind, id: '' });
    try {
      const d = await api<Deployment>(`/api/v1/apps/${enc(app)}/${kind}`, { method: 'POST', body: { target } });
      setJob({ kind, id: d.id });
    } catch (e) {
      setJob(undefined);
      setError(e);
    }
  };
  useEffect(() => {
    if (stream.final) onDone?.();
  }, [stream.final]);

  return (
    <div className="controls" role="group" aria-label={`Controls of ${target}`}>
      {(['start', 'stop', 'restart'] as const).map((k) => (
        <button key={k} type="button" onClick={() => void run(k)} disabled={busy}>
          {k[0]!.toUpperCase() + k.slice(1)}
        </button>
      ))}
      {job && (
        <span className="control-status" role="status" aria-live="polite">
          {job.kind}: {stream.final ? <StatusBadge status={stream.final} /> : job.id ? 'running…' : 'sending…'} {job.id ? <Link to={`/deployments/${enc(job.id)}`}>details</Link> : null}
        </span>
      )}
      <ErrorNote error={error} />
    </div>
  );
}
