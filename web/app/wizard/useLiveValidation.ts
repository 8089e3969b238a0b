/** The platform config checked by the server as it is typed (debounced): problems by form field, others apart. */
import { useEffect, useState } from 'react';
import { api, enc, type ApiProblem } from '../api/client';
import { fieldFor } from './schema-form';

export interface Validation {
  checking: boolean;
  valid: boolean | undefined;
  byField: Record<string, string[]>;
  other: ApiProblem[];
}

export function useLiveValidation(platform: string, app: string, config: Record<string, unknown>, fields: string[], delayMs = 300): Validation {
  const [v, setV] = useState<Validation>({ checking: false, valid: undefined, byField: {}, other: [] });
  const body = JSON.stringify(config);
  useEffect(() => {
    if (!platform) return;
    const ac = new AbortController();
    setV((s) => ({ ...s, checking: true }));
    const t = setTimeout(() => {
      api<{ valid: boolean; problems: ApiProblem[] }>(`/api/v1/deploy/validate/${enc(platform)}`, { method: 'POST', body: { platform_config: JSON.parse(body), ...(app ? { app } : {}) }, signal: ac.signal })
        .then((r) => {
          const byField: Record<string, string[]> = {};
          const other: ApiProblem[] = [];
          for (const p of r.problems) {
            const f = fieldFor(p.path, fields);
            if (f) (byField[f] ??= []).push(p.message);
            else other.push(p);
          }
          setV({ checking: false, valid: r.valid, byField, other });
        })
        .catch((e: Error) => {
          if (!ac.signal.aborted) setV({ checking: false, valid: false, byField: {}, other: [{ path: '', message: e.message }] });
        });
    }, delayMs);
    return () => {
      clearTimeout(t);
      ac.abort();
    };
    // fields derive from the schema, which changes only with the platform
  }, [platform, app, body]);
  return v;
}
