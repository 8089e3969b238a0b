/** One environment variable: its name and its value (masked unless shown). */
import { useState } from 'react';

export interface EnvVar {
  id: number;
  name: string;
  value: string;
}

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

export function EnvVarRow({ v, onChange, onRemove }: { v: EnvVar; onChange(v: EnvVar): void; onRemove(): void }) {
  const [shown, setShown] = useState(false);
  const bad = v.name !== '' && !ENV_NAME.test(v.name);
  return (
    <div className="env-row" data-env={v.name}>
      <label htmlFor={`env-name-${v.id}`} className="sr-only">Variable name</label>
      <input id={`env-name-${v.id}`} placeholder="NAME" spellCheck={false} value={v.name} aria-invalid={bad} aria-describedby={bad ? `env-err-${v.id}` : undefined} onChange={(e) => onChange({ ...v, name: e.target.value })} />
      <label htmlFor={`env-value-${v.id}`} className="sr-only">Value of {v.name || 'the variable'}</label>
      <input id={`env-value-${v.id}`} type={shown ? 'text' : 'password'} autoComplete="off" placeholder="value" value={v.value} onChange={(e) => onChange({ ...v, value: e.target.value })} />
      <button type="button" onClick={() => setShown((s) => !s)} aria-pressed={shown}>{shown ? 'Hide' : 'Show'}</button>
      <button type="button" onClick={onRemove} aria-label={`Remove ${v.name || 'variable'}`}>Remove</button>
      {bad && <p id={`env-err-${v.id}`} className="field-error" role="alert">letters, digits and "_", not starting with a digit</p>}
    </div>
  );
}
