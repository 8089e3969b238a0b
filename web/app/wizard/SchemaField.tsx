/** One field of a target's config, generated from its JSON Schema, with its problems shown under it. */
import type { JsonSchema } from '../api/types';
import { kindOf, parseLoose, showLoose } from './schema-form';

export interface FieldProps {
  name: string;
  path: string[];
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  errors: Record<string, string[]>;
  onChange(path: string[], value: unknown): void;
}

const fieldId = (path: string[]) => `cfg-${path.join('-')}`;

export function SchemaField(p: FieldProps) {
  const kind = kindOf(p.schema);
  const key = p.path.join('.');
  const id = fieldId(p.path);
  if (kind === 'object') {
    return (
      <fieldset className="group">
        <legend>{p.name}</legend>
        {p.schema.description && <p className="muted small">{p.schema.description}</p>}
        {Object.entries(p.schema.properties ?? {}).map(([k, s]) => (
          <SchemaField key={k} {...p} name={k} path={[...p.path, k]} schema={s} value={(p.value as Record<string, unknown> | undefined)?.[k]} required={(p.schema.required ?? []).includes(k)} />
        ))}
      </fieldset>
    );
  }
  const errs = p.errors[key] ?? [];
  const errId = `${id}-err`;
  const helpId = `${id}-help`;
  const described = [p.schema.description ? helpId : '', errs.length ? errId : ''].filter(Boolean).join(' ') || undefined;
  const common = { id, name: key, 'aria-invalid': errs.length > 0, 'aria-describedby': described, 'aria-required': p.required };
  const placeholder = p.schema.default !== undefined ? `default: ${showLoose(p.schema.default)}` : undefined;
  let input;
  if (kind === 'boolean') {
    input = <input type="checkbox" {...common} checked={p.value === undefined ? p.schema.default === true : p.value === true} onChange={(e) => p.onChange(p.path, e.target.checked)} />;
  } else if (kind === 'number') {
    input = <input type="number" inputMode="numeric" {...common} placeholder={placeholder} value={p.value === undefined ? '' : String(p.value)} onChange={(e) => p.onChange(p.path, e.target.value === '' ? undefined : Number(e.target.value))} />;
  } else if (kind === 'select') {
    input = (
      <select {...common} value={p.value === undefined ? '' : String(p.value)} onChange={(e) => p.onChange(p.path, e.target.value === '' ? undefined : e.target.value)}>
        <option value="">{placeholder ?? '(not set)'}</option>
        {p.schema.enum!.map((v) => <option key={String(v)} value={String(v)}>{String(v)}</option>)}
      </select>
    );
  } else if (kind === 'list') {
    const lines = Array.isArray(p.value) ? p.value.map(showLoose).join('\n') : '';
    input = <textarea {...common} rows={3} placeholder="one per line" defaultValue={lines} onChange={(e) => { const items = e.target.value.split('\n').map((l) => l.trim()).filter(Boolean).map(parseLoose); p.onChange(p.path, items.length ? items : undefined); }} />;
  } else {
    input = <input type="text" {...common} spellCheck={false} placeholder={placeholder} value={showLoose(p.value)} onChange={(e) => p.onChange(p.path, e.target.value === '' ? undefined : parseLoose(e.target.value))} />;
  }
  return (
    <div className={`field ${kind === 'boolean' ? 'check' : ''} ${errs.length ? 'invalid' : ''}`} data-field={key}>
      <label htmlFor={id}>
        {p.name}
        {p.required ? <span aria-hidden="true"> *</span> : null}
      </label>
      {input}
      {p.schema.description && <p id={helpId} className="muted small help">{p.schema.description}</p>}
      {errs.length > 0 && (
        <p id={errId} className="field-error" role="alert">
          {errs.join('; ')}
        </p>
      )}
    </div>
  );
}
