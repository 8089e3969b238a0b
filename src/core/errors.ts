/**
 * Typed errors shared by every layer. The code is stable (scripts and the API
 * depend on it); the hint tells the user what to do next.
 */
export type ErrorCode =
  | 'MANIFEST_INVALID'
  | 'MANIFEST_NOT_FOUND'
  | 'MANIFEST_TOO_LARGE'
  | 'USAGE'
  | 'LOCK_HELD'
  | 'HEALTH_FAILED'
  | 'BUILD_FAILED'
  | 'START_FAILED'
  | 'PORT_IN_USE'
  | 'TARGET_UNKNOWN'
  | 'TARGET_UNAVAILABLE'
  | 'NOT_DEPLOYED'
  | 'RELEASE_NOT_FOUND'
  | 'SECRET_MISSING'
  | 'SECRET_DECRYPT_FAILED'
  | 'SECRET_IDENTITY'
  | 'AGENT_UNREACHABLE'
  | 'INTERRUPTED'
  | 'HOOK_FAILED'
  | 'CANARY_FAILED'
  | 'ABORTED'
  | 'NOT_PAUSED'
  | 'NOT_RUNNING'
  | 'WATCH_FAILED'
  | 'NODES_FAILED'
  | 'BACKUP_INVALID'
  | 'RESTORE_REFUSED'
  | 'SSH_HOST_KEY_UNKNOWN'
  | 'SSH_HOST_KEY_CHANGED'
  | 'SSH_AUTH_FAILED'
  | 'SSH_CONNECT_FAILED'
  | 'SSH_CONNECT_TIMEOUT'
  | 'SSH_COMMAND_TIMEOUT'
  | 'SSH_CHANNEL_FAILED'
  | 'SSH_TRANSFER_FAILED'
  | 'SSH_LAYOUT_FAILED'
  | 'SSH_COMMAND_FAILED'
  | 'HOST_NODE_UNUSABLE'
  | 'NGINX_FAILED'
  | 'GIT_FETCH_FAILED'
  | 'STATE_STORE'
  | 'HELM_FAILED'
  | 'KUBECONFIG_INVALID'
  | 'DESTROY_INCOMPLETE'
  | 'INTERNAL';

/** Exit code 2 = bad usage or invalid input; 1 = an operation failed. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['MANIFEST_INVALID', 'MANIFEST_NOT_FOUND', 'MANIFEST_TOO_LARGE', 'USAGE', 'TARGET_UNKNOWN', 'SECRET_MISSING']);

export class GantryError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, hint?: string, details?: unknown) {
    super(message);
    this.name = 'GantryError';
    this.code = code;
    this.hint = hint;
    this.details = details;
  }
  get exitCode(): 1 | 2 {
    return USAGE_CODES.has(this.code) ? 2 : 1;
  }
  toJSON(): { code: ErrorCode; message: string; hint?: string; details?: unknown } {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isGantryError(e: unknown): e is GantryError {
  return e instanceof GantryError;
}

/** A problem found while validating input: where, what, and how to fix it. */
export interface Problem {
  file?: string;
  line?: number;
  column?: number;
  /** Dotted YAML path, e.g. `run.instances` or `targets.local.type`. */
  path: string;
  message: string;
  hint?: string;
}
