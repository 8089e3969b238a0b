/** Many-node targets: how each node fared (batch, outcome, time, error). */
import { duration } from '../lib/format';
import { StatusBadge } from './StatusBadge';

interface NodeReport {
  node: string;
  batch: number;
  status: string;
  duration_ms?: number;
  error?: string;
  bytes_sent?: number;
}

export function NodeOutcomes({ nodes }: { nodes: NodeReport[] | undefined }) {
  if (!nodes?.length) return null;
  return (
    <section aria-labelledby="nodes-title">
      <h2 id="nodes-title">Nodes</h2>
      <div className="table-wrap">
        <table>
          <thead>
            <tr><th scope="col">Node</th><th scope="col">Batch</th><th scope="col">Outcome</th><th scope="col">Time</th><th scope="col">Error</th></tr>
          </thead>
          <tbody>
            {nodes.map((n) => (
              <tr key={n.node}>
                <td>{n.node}</td>
                <td>{n.batch}</td>
                <td><StatusBadge status={n.status} /></td>
                <td>{duration(n.duration_ms)}</td>
                <td>{n.error ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
