/** The app's declared secrets: set or not (never their values); a value can be set here, write-only. */
import { useState, type FormEvent } from 'react';
import { api, enc } from '../api/client';
import { ErrorNote } from '../components/ErrorNote';
import { useApi } from '../lib/useApi';

export function SecretRefs({ app }: { app: string }) {
  const { data, reload } = useApi<{ secrets: Array<{ name: string; set: boolean; version: string | null }> }>(app ? `/api/v1/apps/${enc(app)}/secrets` : null);
  const [editing, setEditing] = useState<string>();
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>();
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      await api(`/api/v1/apps/${enc(app)}/secrets/${enc(editing!)}`, { method: 'PUT', body: { value } });
      setEditing(undefined);
      setValue('');
      reload();
    } catch (err) {
      setError(err);
    }
  };
  if (!data) return null;
  if (data.secrets.length === 0) return <p className="muted">The app declares no secrets.</p>;
  return (
    <div>
      <ul className="secrets">
        {data.secrets.map((s) => (
          <li key={s.name}>
            <code>{s.name}</code> {s.set ? <span className="ok-text">set ({s.version})</span> : <span className="warn-text">not set: the deploy would stop</span>}{' '}
            <button type="button" onClick={() => setEditing(s.name)}>Set value</button>
          </li>
        ))}
      </ul>
      {editing && (
        <form onSubmit={save} className="row">
          <label htmlFor="secret-value">Value of {editing}</label>
          <input id="secret-value" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} required />
          <button type="submit" className="primary">Save secret</button>
          <button type="button" onClick={() => setEditing(undefined)}>Cancel</button>
        </form>
      )}
      <ErrorNote error={error} />
    </div>
  );
}
