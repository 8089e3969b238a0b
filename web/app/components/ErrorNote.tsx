/** An API error as the API gives it: message, then the hint. */
import { ApiFailure } from '../api/client';

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  return (
    <p className="error" role="alert">
      {e.message}
      {e instanceof ApiFailure && e.hint ? <span className="hint"> — {e.hint}</span> : null}
    </p>
  );
}
