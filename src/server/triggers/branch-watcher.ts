import { DEFAULTS } from '../../core/defaults.js';
import { checkBranch, checkRepoUrl, remoteBranchHead } from './git-cli.js';

export interface BranchWatcherOptions {
  repoUrl: string;
  branch: string;
  /** `watch.interval`; see watchIntervalMs for the manifest's bounds. */
  intervalMs: number;
  /**
   * The commit already deployed: no deploy until the branch moves past it. null: nothing is
   * deployed yet, so the first head seen is deployed. Unset: the first head seen is taken as deployed.
   */
  lastCommit?: string | null;
  /** Called once per new head, never twice at once; the next poll waits for it. */
  onCommit: (commit: string) => Promise<void>;
  /** A failed poll or onCommit (the watcher goes on polling). */
  onError?: (err: unknown) => void;
  /** Hands a delay to the timer (tests use the real one). */
  timeoutMs?: number;
}

/** `watch: { interval }` in ms, within bounds: default DEFAULTS.gitTrigger.pollIntervalMs, never under minPollIntervalMs. */
export function watchIntervalMs(interval?: number): number {
  return Math.max(DEFAULTS.gitTrigger.minPollIntervalMs, interval ?? DEFAULTS.gitTrigger.pollIntervalMs);
}

/**
 * Polls a branch with `git ls-remote` for hosts that cannot receive webhooks (`watch: { branch, interval }`),
 * and calls onCommit when its head moves. A commit whose onCommit failed is not tried again until the
 * branch moves again (a broken commit must not be redeployed every interval).
 */
export class BranchWatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private last: string | null | undefined;

  constructor(private readonly opts: BranchWatcherOptions) {
    checkRepoUrl(opts.repoUrl);
    checkBranch(opts.branch);
    if (!(opts.intervalMs > 0)) throw new RangeError('intervalMs must be positive');
    this.last = opts.lastCommit;
  }

  /** The head last acted on (or taken as deployed). */
  get lastCommit(): string | undefined {
    return this.last ?? undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling; resolves once a poll or deploy in flight has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One poll now (what the timer runs). */
  async pollOnce(): Promise<void> {
    const head = await remoteBranchHead(this.opts.repoUrl, this.opts.branch, this.opts.timeoutMs);
    if (!head || head === this.last) return;
    if (this.last === undefined) {
      this.last = head;
      return;
    }
    this.last = head;
    await this.opts.onCommit(head);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pollOnce()
        .catch((e) => this.opts.onError?.(e))
        .finally(() => {
          this.running = undefined;
          this.schedule(this.opts.intervalMs);
        });
    }, delay);
    this.timer.unref();
  }
}
