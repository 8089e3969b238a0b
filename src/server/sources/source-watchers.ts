/**
 * `watch: { branch, interval }` for apps registered from git: each such app's branch is polled
 * (`git ls-remote`), and a new head is checked out, registered and deployed to the watched
 * targets. Every replica polls; the registered commit is moved with a compare-and-set, so one
 * replica deploys each head.
 */
import { rm } from 'node:fs/promises';
import { appFor, registerApp } from '../apps.js';
import type { ServerContext } from '../context.js';
import { enqueueJob } from '../jobs/enqueue.js';
import { BranchWatcher, watchIntervalMs } from '../triggers/index.js';
import { advanceSource, checkoutSource, pruneCheckouts, readSource, type GitSourceRow } from './git-source.js';

export interface WatchLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export class SourceWatchers {
  private readonly watchers = new Map<string, BranchWatcher>();

  constructor(
    private readonly ctx: ServerContext,
    private readonly log: WatchLog,
  ) {}

  /** Every watched source in the store. */
  async startAll(): Promise<void> {
    const rows = await this.ctx.db.selectFrom('git_sources').selectAll().where('watch_interval_ms', 'is not', null).execute();
    for (const row of rows) this.watch(row);
  }

  /** Starts (or restarts, with the new settings) polling of a source; a source without watch stops it. */
  watch(row: GitSourceRow): void {
    void this.unwatch(row.app);
    if (row.watch_interval_ms === null) return;
    const w = new BranchWatcher({
      repoUrl: row.repo_url,
      branch: row.branch,
      intervalMs: watchIntervalMs(row.watch_interval_ms),
      lastCommit: row.commit_sha,
      onCommit: (commit) => this.advance(row.app, commit),
      onError: (err) => this.log.error({ app: row.app, err: (err as Error).message }, 'polling the git branch failed'),
    });
    this.watchers.set(row.app, w);
    w.start();
  }

  async unwatch(app: string): Promise<void> {
    const w = this.watchers.get(app);
    this.watchers.delete(app);
    await w?.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.watchers.keys()].map((app) => this.unwatch(app)));
  }

  /** A new head: check it out, register it (only this replica, if it wins the compare-and-set) and deploy it. */
  private async advance(app: string, commit: string): Promise<void> {
    const source = await readSource(this.ctx.db, app);
    if (!source || source.commit_sha === commit) return;
    const co = await checkoutSource(this.ctx.dataDir, { url: source.repo_url, branch: source.branch, path: source.path }, commit);
    let registered = false;
    try {
      if (co.app !== app) throw new Error(`the manifest at ${commit.slice(0, 12)} names app ${co.app}, not ${app}`);
      if (!(await advanceSource(this.ctx.db, app, source.commit_sha, commit))) {
        await rm(co.dir, { recursive: true, force: true });
        return;
      }
      const current = await appFor(this.ctx.db, app, null);
      const project = await this.ctx.db.selectFrom('projects').select('max_apps').where('id', '=', current.project_id).executeTakeFirstOrThrow();
      const row = await registerApp(this.ctx.db, current.project_id, { manifest_path: co.manifestPath }, project.max_apps);
      registered = true;
      await pruneCheckouts(this.ctx.dataDir, app, co.dir);
      const targets: (string | undefined)[] = source.watch_targets ? (JSON.parse(source.watch_targets) as string[]) : [undefined];
      for (const target of targets) {
        const { job } = await enqueueJob(this.ctx, { app: row, kind: 'deploy', target, params: {}, requestedBy: `watch:git:${commit.slice(0, 12)}` });
        this.log.info({ app, commit, job: job.id, target: job.target }, 'a new commit on the watched branch: deploying it');
      }
    } catch (e) {
      if (!registered) await rm(co.dir, { recursive: true, force: true }).catch(() => undefined);
      throw e;
    }
  }
}
