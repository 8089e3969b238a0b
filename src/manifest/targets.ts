/**
 * Second pass over `targets`: each target's `type` must be known, and its
 * settings must satisfy that target type's own schema.
 */
import type { ZodType } from 'zod';
import { issuesToDrafts, type Draft } from './issues.js';
import { closest, quoteList } from './suggest.js';

export interface TargetCheckOptions {
  /** The config schema of a target type (validates the target's keys minus `type`). */
  targetSchemas?: (type: string) => ZodType | undefined;
  /** Target types that exist; when given, any other type is a problem. */
  knownTargetTypes?: readonly string[];
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `targets` is the raw (interpolated, overlaid) mapping; shapes the schema rejects are skipped here. */
export function checkTargets(targets: unknown, opts: TargetCheckOptions): Draft[] {
  const drafts: Draft[] = [];
  if (!isPlainObject(targets)) return drafts;
  for (const [name, cfg] of Object.entries(targets)) {
    if (!isPlainObject(cfg) || typeof cfg.type !== 'string' || cfg.type === '') continue;
    const { type, ...rest } = cfg;
    if (opts.knownTargetTypes && !opts.knownTargetTypes.includes(type)) {
      const near = closest(type, opts.knownTargetTypes);
      const known = `known target types: ${quoteList(opts.knownTargetTypes)}`;
      drafts.push({
        path: ['targets', name, 'type'],
        at: 'value',
        message: `unknown target type "${type}"`,
        hint: near !== undefined ? `did you mean "${near}"? (${known})` : known,
      });
      continue;
    }
    const schema = opts.targetSchemas?.(type);
    if (!schema) continue;
    const result = schema.safeParse(rest);
    if (!result.success) drafts.push(...issuesToDrafts(result.error.issues, schema, rest, ['targets', name]));
  }
  return drafts;
}
