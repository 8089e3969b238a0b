import { z } from 'zod';
import { DURATION_FORMATS, parseDuration } from '../../core/duration.js';

/**
 * A duration in a target's config, written "30s" or as seconds, parsed to milliseconds (as
 * the manifest's own durations); `defaultMs` when absent. `what` names it in the error.
 */
export function targetDuration(what: string, defaultMs: number) {
  return z
    .union([z.string(), z.number()])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return defaultMs;
      const ms = parseDuration(v);
      if (ms === undefined || ms <= 0) {
        ctx.issues.push({ code: 'custom', input: v, message: `invalid ${what} ${JSON.stringify(v)}: expected ${DURATION_FORMATS} (more than 0)` });
        return z.NEVER;
      }
      return ms;
    });
}

/** targetDuration with its description for the JSON Schema, which ends by saying how a duration is written. */
export const describedDuration = (what: string, description: string, defaultMs: number) => targetDuration(what, defaultMs).describe(`${description} A duration: ${DURATION_FORMATS}.`);
