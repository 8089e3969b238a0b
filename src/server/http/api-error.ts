/** Errors the API answers with a status of their own (GantryErrors map through statusOf). */
import { isGantryError, type GantryError } from '../../core/errors.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, 'NOT_FOUND', `${what} not found`, 'check the name or id, and that your key belongs to its project');

/** HTTP status of an engine error: bad input 400/422, busy 409, missing 404, else 500. */
export function statusOf(e: GantryError): number {
  switch (e.code) {
    case 'MANIFEST_INVALID':
    case 'MANIFEST_TOO_LARGE':
    case 'SECRET_MISSING':
      return 422;
    case 'USAGE':
    case 'TARGET_UNKNOWN':
      return 400;
    case 'MANIFEST_NOT_FOUND':
    case 'RELEASE_NOT_FOUND':
    case 'NOT_DEPLOYED':
      return 404;
    case 'LOCK_HELD':
    case 'NOT_PAUSED':
    case 'NOT_RUNNING':
      return 409;
    default:
      return 500;
  }
}

export function errorBody(err: unknown): { status: number; body: { error: { code: string; message: string; hint?: string; problems?: unknown } } } {
  if (err instanceof ApiError) return { status: err.status, body: { error: { code: err.code, message: err.message, hint: err.hint, ...(err.details ? { problems: err.details } : {}) } } };
  if (isGantryError(err)) {
    const problems = (err.details as { problems?: unknown } | undefined)?.problems;
    return { status: statusOf(err), body: { error: { code: err.code, message: err.message, hint: err.hint, ...(problems ? { problems } : {}) } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error', hint: 'the server log has the details' } } };
}
