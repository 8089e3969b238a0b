/** The config difference between two releases of a target (redacted by the server). */
import { useEffect, useState } from 'react';
import { api, enc } from '../api/client';
import { ErrorNote } from '../components/ErrorNote';
import { diffJson, type DiffRow } from './diff';

const show = (v: unknown) => (v === undefined ? '—' : typeof v === 'string' ? v : JSON.stringify(v));

export function ConfigDiff({ app, target, from, to }: { app: string; target: string; from: string; to: string }) {
  const [rows, setRows] = useState<DiffRow[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    setRows(undefined);
    const get = (r: string) => api<{ manifest: Record<string, unknown> }>(`/api/v1/apps/${enc(app)}/releases/${enc(r)}/config?target=${enc(target)}`);
    Promise.all([get(from), get(to)])
      .then(([a, b]) => setRows(diffJson(a.manifest, b.manifest)))
      .catch(setError);
  }, [app, target, from, to]);
  if (error) return <ErrorNote error={error} />;
  if (!rows) return <p className="muted" role="status">Comparing…</p>;
  if (rows.length === 0) return <p role="status">Same config (the code may differ).</p>;
  return (
    <div className="table-wrap">
      <table className="diff" aria-label="Config diff">
        <thead><tr><th scope="col">Field</th><th scope="col">{from}</th><th scope="col">{to}</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.path}>
              <th scope="row" className="mono">{r.path}</th>
              <td className="before mono">{show(r.before)}</td>
              <td className="after mono">{show(r.after)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
