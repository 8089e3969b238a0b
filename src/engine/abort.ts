/**
 * Aborting a rollout in progress. Two sources ask for it: `gantry abort` from
 * another process (the deployment's `control` field in the store) and the
 * running command itself (an AbortSignal its face hands in, e.g. on Ctrl-C).
 * Both end in one AbortSignal the steps and their waits watch; the rollout
 * then fails through its normal path and restores the previous release.
 */
import { GantryError } from '../core/errors.js';
import type { Store } from '../store/index.js';

/** How often a running rollout looks at the store for `gantry abort`. */
const CONTROL_POLL_MS = 200;

export class AbortedError extends GantryError {
  constructor(by: string) {
    super('ABORTED', `aborted by ${by}`, 'the previous release was put back; deploy again when ready');
  }
}

export interface AbortWatch {
  /** Aborted (with an AbortedError as its reason) once an abort was asked for. */
  signal: AbortSignal;
  /** Throw the AbortedError if an abort was asked for. */
  check(): void;
  /** The AbortedError, once aborted. */
  error(): AbortedError | undefined;
  dispose(): void;
}

/**
 * Watch both sources for one deployment. An in-process abort is also written
 * to the store, so that if this process dies before it finished rolling back,
 * the next command's reconciliation goes back rather than forward.
 */
export function watchAbort(store: Store, deploymentId: string, external?: AbortSignal): AbortWatch {
  const ctl = new AbortController();
  const abort = (by: string): void => {
    if (!ctl.signal.aborted) ctl.abort(new AbortedError(by));
  };
  const onExternal = (): void => {
    store.updateDeployment(deploymentId, { control: 'abort' });
    abort(typeof external?.reason === 'string' ? external.reason : 'an interrupt');
  };
  if (external?.aborted) onExternal();
  else external?.addEventListener('abort', onExternal, { once: true });
  const timer = setInterval(() => {
    if (store.getDeployment(deploymentId)?.control === 'abort') abort('`gantry abort`');
  }, CONTROL_POLL_MS);
  timer.unref();
  return {
    signal: ctl.signal,
    check: () => {
      if (ctl.signal.aborted) throw ctl.signal.reason as AbortedError;
    },
    error: () => (ctl.signal.aborted ? (ctl.signal.reason as AbortedError) : undefined),
    dispose: () => {
      clearInterval(timer);
      external?.removeEventListener('abort', onExternal);
    },
  };
}

export { sleep } from '../core/sleep.js';

/** Settle with `work`, or reject with the abort reason as soon as the signal aborts (the work itself goes on, bounded by its own timeout). */
export function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      work.catch(() => undefined);
      return reject(signal.reason as Error);
    }
    const onAbort = (): void => {
      work.catch(() => undefined);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e as Error);
      },
    );
  });
}
