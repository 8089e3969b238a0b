/** Step 2: the platform's config in a form made from its schema, checked live by the server. */
import type { TargetType } from '../api/types';
import { SchemaField } from './SchemaField';
import type { Validation } from './useLiveValidation';

export function ConfigStep({ target, config, onChange, validation }: { target: TargetType; config: Record<string, unknown>; onChange(path: string[], v: unknown): void; validation: Validation }) {
  const props = target.config_schema.properties ?? {};
  return (
    <div>
      <h2>{target.type} configuration</h2>
      <p className="muted">Empty fields keep what the app's manifest says for its {target.type} target.</p>
      <div className="form" aria-describedby="validation-state">
        {Object.entries(props).map(([k, s]) => (
          <SchemaField key={k} name={k} path={[k]} schema={s} value={config[k]} required={(target.config_schema.required ?? []).includes(k)} errors={validation.byField} onChange={onChange} />
        ))}
        {Object.keys(props).length === 0 && <p className="muted">This platform takes no configuration.</p>}
      </div>
      <p id="validation-state" role="status" aria-live="polite" className="small" data-valid={String(validation.valid)}>
        {validation.checking ? 'Checking…' : validation.valid ? 'Valid' : validation.valid === false ? 'Not valid yet' : ''}
      </p>
      {validation.other.length > 0 && (
        <ul className="error" role="alert">
          {validation.other.map((p, i) => <li key={i}>{p.path ? <code>{p.path}</code> : null} {p.message}{p.hint ? <span className="muted"> ({p.hint})</span> : null}</li>)}
        </ul>
      )}
    </div>
  );
}
