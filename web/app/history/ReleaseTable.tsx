/** A target's kept releases: status, which is current, two picked for a diff, rollback to one. */
import type { Release } from '../api/types';
import { StatusBadge } from '../components/StatusBadge';
import { time } from '../lib/format';

export function ReleaseTable({ releases, picked, onPick, onRollback, canDeploy }: { releases: Release[]; picked: string[]; onPick(r: string): void; onRollback(r: Release): void; canDeploy: boolean }) {
  return (
    <div className="table-wrap">
      <table aria-label="Releases">
        <thead>
          <tr><th scope="col">Compare</th><th scope="col">Version</th><th scope="col">Release</th><th scope="col">Created</th><th scope="col">Status</th><th scope="col"><span className="sr-only">Actions</span></th></tr>
        </thead>
        <tbody>
          {releases.map((r) => (
            <tr key={r.release} data-release={r.release} className={r.current ? 'current' : ''}>
              <td><input type="checkbox" aria-label={`Compare ${r.version}`} checked={picked.includes(r.release)} onChange={() => onPick(r.release)} /></td>
              <td>{r.version}{r.current ? <strong> (current)</strong> : null}</td>
              <td className="mono">{r.release}{r.commit ? <span className="muted"> · {r.commit.slice(0, 7)}</span> : null}</td>
              <td>{time(r.created_at)}</td>
              <td><StatusBadge status={r.status} /></td>
              <td>{canDeploy && !r.current ? <button type="button" onClick={() => onRollback(r)}>Roll back to {r.version}</button> : null}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
