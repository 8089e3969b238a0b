/** Deployments, newest first: each links to its page. */
import { enc } from '../api/client';
import type { Deployment } from '../api/types';
import { duration, time } from '../lib/format';
import { Link } from './Link';
import { StatusBadge } from './StatusBadge';

export function DeploymentTable({ deployments }: { deployments: Deployment[] }) {
  if (deployments.length === 0) return <p className="muted">None yet.</p>;
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Deployment</th>
            <th scope="col">Kind</th>
            <th scope="col">Target</th>
            <th scope="col">Status</th>
            <th scope="col">Release</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {deployments.map((d) => (
            <tr key={d.id}>
              <td><Link to={`/deployments/${enc(d.id)}`} className="mono">{d.id}</Link></td>
              <td>{d.kind}</td>
              <td>{d.target}</td>
              <td><StatusBadge status={d.status} /></td>
              <td className="mono">{d.release ?? d.external_id ?? '—'}</td>
              <td>{time(d.started_at ?? d.created_at)}</td>
              <td>{duration(d.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
