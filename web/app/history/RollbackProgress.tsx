/** A rollback job's progress until it ends. */
import { useEffect } from 'react';
import { enc } from '../api/client';
import { Link } from '../components/Link';
import { StatusBadge } from '../components/StatusBadge';
import { useDeploymentStream } from '../lib/useDeploymentStream';

export function RollbackProgress({ id, onEnd }: { id: string; onEnd(): void }) {
  const s = useDeploymentStream(id);
  useEffect(() => {
    if (s.final) onEnd();
    // onEnd is a fresh closure each render; only the end matters
  }, [s.final]);
  const last = s.events.at(-1);
  return (
    <p className="card" role="status" aria-live="polite" data-testid="rollback-status">
      Rollback: {s.final ? <StatusBadge status={s.final} /> : `running… ${last ? last.message : ''}`} <Link to={`/deployments/${enc(id)}`}>details</Link>
    </p>
  );
}
