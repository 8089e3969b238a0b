/** Sign in with an API key: checked against the server, then kept for this tab only. */
import { useState, type FormEvent } from 'react';
import { api, ApiFailure } from '../api/client';
import { setKey } from '../api/session';

export function SignIn() {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('/api/v1/me', { token: value.trim() });
      setKey(value.trim());
    } catch (err) {
      setError(err instanceof ApiFailure ? `${err.message}${err.hint ? ` (${err.hint})` : ''}` : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form onSubmit={submit} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Gantry</h1>
        <p className="muted">Sign in with an API key (<code>gantry keys create</code>). It is kept in this tab only.</p>
        <label htmlFor="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autoComplete="off" spellCheck={false} value={value} onChange={(e) => setValue(e.target.value)} required autoFocus />
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || !value.trim()}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
