import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { capText } from '../core/bounded.js';
import type { Store } from './contract.js';
import { MIGRATIONS } from './migrations.js';
import { boundedJson, deploymentPatch, now, toAudit, toDeployment, toEvent, toLock, toRelease, toStep, toTarget, type Row } from './rows.js';
import type { AuditRecord, DeploymentPatch, DeploymentRecord, EventRecord, LockClaim, LockRecord, NewDeployment, NewEvent, NewRelease, NewStep, ReleaseRecord, StepRecord, TargetPatch, TargetRecord } from './types.js';

/** The state store on one SQLite file (WAL) in the state dir: the CLI's, and the server's on a SQLite database. */
export class SqliteStore implements Store {
  private handle!: Database.Database;

  constructor(readonly file: string) {
    this.open();
  }

  get db(): Database.Database {
    return this.handle;
  }

  private open(): void {
    mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
    this.handle = new Database(this.file);
    this.handle.pragma('journal_mode = WAL');
    this.handle.pragma('busy_timeout = 5000');
    this.handle.pragma('foreign_keys = ON');
    this.migrate();
  }

  stateSnapshot(): { db: Database.Database; release(): void } {
    return { db: this.handle, release: () => undefined };
  }

  /** The whole file is swapped: every app's state goes back to the backup's (as `gantry restore` always did). */
  restoreState(_app: string, swap: () => Promise<void>): Promise<void> {
    return this.replaceFile(swap);
  }

  /** Close the file and run `swap` (a restore replacing state.db), then open it again. */
  async replaceFile(swap: () => Promise<void>): Promise<void> {
    this.handle.close();
    try {
      await swap();
    } finally {
      this.open();
    }
  }

  /** When the newest deployment was recorded (restore refuses to go back over newer state). */
  newestDeploymentAt(app: string): string | undefined {
    const row = this.db.prepare('SELECT MAX(created_at) AS t FROM deployments WHERE app = ?').get(app) as { t: string | null };
    return row.t ?? undefined;
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        // Two commands opening a new state dir at once: the version is read again under the write lock,
        // so a migration another process just applied is not applied twice ("table apps already exists").
        if ((this.db.pragma('user_version', { simple: true }) as number) > v) return;
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      }).immediate();
    }
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    if (this.handle.open) this.handle.close();
  }

  // ---- apps and targets -------------------------------------------------

  ensureTarget(app: string, target: string, type: string): TargetRecord {
    const ts = now();
    this.db.prepare('INSERT OR IGNORE INTO apps(name, created_at) VALUES (?, ?)').run(app, ts);
    this.db.prepare('INSERT OR IGNORE INTO targets(app, name, type, updated_at) VALUES (?, ?, ?, ?)').run(app, target, type, ts);
    return this.getTarget(app, target)!;
  }

  getTarget(app: string, target: string): TargetRecord | undefined {
    const row = this.db.prepare('SELECT * FROM targets WHERE app = ? AND name = ?').get(app, target) as Row | undefined;
    return row ? toTarget(row) : undefined;
  }

  updateTarget(app: string, target: string, patch: TargetPatch): void {
    const cur = this.getTarget(app, target);
    if (!cur) throw new Error(`no target ${app}/${target}`);
    const next = { ...cur, ...patch };
    this.db
      .prepare('UPDATE targets SET current_release = ?, desired_state = ?, instances = ?, scaled_from_manifest = ?, held_nodes = ?, settings = ?, updated_at = ? WHERE app = ? AND name = ?')
      .run(next.currentRelease ?? null, next.desiredState, next.instances, next.scaledFromManifest ?? null, next.heldNodes.length ? JSON.stringify(next.heldNodes) : null, JSON.stringify(next.settings), now(), app, target);
  }

  /**
   * `gantry destroy`: every row of app+target (its releases, deployments with their steps,
   * events, the target itself; the app when no target is left). The audit log keeps what happened.
   */
  forgetTarget(app: string, target: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM steps WHERE deployment_id IN (SELECT id FROM deployments WHERE app = ? AND target = ?)').run(app, target);
      for (const table of ['deployments', 'releases', 'events']) this.db.prepare(`DELETE FROM ${table} WHERE app = ? AND target = ?`).run(app, target);
      this.db.prepare('DELETE FROM targets WHERE app = ? AND name = ?').run(app, target);
      this.db.prepare('DELETE FROM apps WHERE name = ? AND NOT EXISTS (SELECT 1 FROM targets WHERE app = ?)').run(app, app);
    })();
  }

  // ---- releases ---------------------------------------------------------

  /** Record a release; its version is the next of its app+target (counting deleted ones: a version is never reused). */
  insertRelease(r: NewRelease): ReleaseRecord {
    this.db
      .prepare(
        `INSERT INTO releases(id, app, target, created_at, content_hash, artifact, manifest, status, git, build_key, version)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(version), 0) + 1 FROM releases WHERE app = ? AND target = ?))`,
      )
      .run(r.id, r.app, r.target, now(), r.contentHash, JSON.stringify(r.artifact), JSON.stringify(r.manifest), r.status, r.git ? JSON.stringify(r.git) : null, r.buildKey ?? null, r.app, r.target);
    return this.getRelease(r.app, r.target, r.id)!;
  }

  getRelease(app: string, target: string, id: string): ReleaseRecord | undefined {
    const row = this.db.prepare('SELECT * FROM releases WHERE app = ? AND target = ? AND id = ?').get(app, target, id) as Row | undefined;
    return row ? toRelease(row) : undefined;
  }

  listReleases(app: string, target: string, opts: { includeDeleted?: boolean } = {}): ReleaseRecord[] {
    const rows = this.db
      .prepare(`SELECT * FROM releases WHERE app = ? AND target = ? ${opts.includeDeleted ? '' : 'AND deleted = 0'} ORDER BY created_at DESC, id DESC`)
      .all(app, target) as Row[];
    return rows.map(toRelease);
  }

  setReleaseStatus(app: string, target: string, id: string, status: ReleaseRecord['status'], good = false): void {
    this.db
      .prepare(`UPDATE releases SET status = ?${good ? ', last_good_at = ?' : ''} WHERE app = ? AND target = ? AND id = ?`)
      .run(...(good ? [status, now(), app, target, id] : [status, app, target, id]));
  }

  markReleaseDeleted(app: string, target: string, id: string): void {
    this.db.prepare('UPDATE releases SET deleted = 1 WHERE app = ? AND target = ? AND id = ?').run(app, target, id);
  }

  // ---- deployments and steps -------------------------------------------

  insertDeployment(d: NewDeployment): DeploymentRecord {
    this.db
      .prepare(
        `INSERT INTO deployments(id, app, target, target_type, kind, release, previous_release, status, actor, pid, platform_config, created_at, started_at)
         VALUES (@id, @app, @target, @targetType, @kind, @release, @previousRelease, @status, @actor, @pid, @platformConfig, @createdAt, @createdAt)`,
      )
      .run({
        id: d.id,
        app: d.app,
        target: d.target,
        targetType: d.targetType,
        kind: d.kind,
        release: d.release ?? null,
        previousRelease: d.previousRelease ?? null,
        status: d.status ?? 'running',
        actor: d.actor,
        pid: process.pid,
        platformConfig: JSON.stringify(d.platformConfig ?? {}),
        createdAt: now(),
      });
    return this.getDeployment(d.id)!;
  }

  getDeployment(id: string): DeploymentRecord | undefined {
    const row = this.db.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
    return row ? toDeployment(row) : undefined;
  }

  listDeployments(app: string, target: string, limit = 20): DeploymentRecord[] {
    return (this.db.prepare('SELECT * FROM deployments WHERE app = ? AND target = ? ORDER BY created_at DESC, rowid DESC LIMIT ?').all(app, target, limit) as Row[]).map(toDeployment);
  }

  /** Deployments still marked running: after a crash these are the interrupted ones. */
  unfinishedDeployments(app: string, target: string): DeploymentRecord[] {
    return (this.db.prepare("SELECT * FROM deployments WHERE app = ? AND target = ? AND status IN ('pending','running') ORDER BY created_at").all(app, target) as Row[]).map(toDeployment);
  }

  updateDeployment(id: string, patch: DeploymentPatch): void {
    const { cols, vals } = deploymentPatch(patch);
    if (cols.length === 0) return;
    this.db.prepare(`UPDATE deployments SET ${cols.join(', ')} WHERE id = ?`).run(...vals, id);
  }

  insertSteps(deploymentId: string, steps: NewStep[]): void {
    const ins = this.db.prepare("INSERT INTO steps(deployment_id, idx, kind, params, status) VALUES (?, ?, ?, ?, 'pending')");
    this.db.transaction(() => steps.forEach((s, i) => ins.run(deploymentId, i, s.kind, JSON.stringify(s.params))))();
  }

  appendSteps(deploymentId: string, steps: NewStep[]): void {
    const max = (this.db.prepare('SELECT COALESCE(MAX(idx), -1) AS m FROM steps WHERE deployment_id = ?').get(deploymentId) as { m: number }).m;
    const ins = this.db.prepare("INSERT INTO steps(deployment_id, idx, kind, params, status) VALUES (?, ?, ?, ?, 'pending')");
    this.db.transaction(() => steps.forEach((s, i) => ins.run(deploymentId, max + 1 + i, s.kind, JSON.stringify(s.params))))();
  }

  setStepStatus(deploymentId: string, idx: number, status: StepRecord['status'], error?: string): void {
    // A step run again (a resumed plan) keeps its first start: a resumed watch measures its window from it.
    const set = status === 'running' ? 'started_at = COALESCE(started_at, ?)' : 'finished_at = ?';
    this.db.prepare(`UPDATE steps SET status = ?, ${set}, error = ? WHERE deployment_id = ? AND idx = ?`).run(status, now(), error === undefined ? null : capText(error), deploymentId, idx);
  }

  listSteps(deploymentId: string): StepRecord[] {
    return (this.db.prepare('SELECT * FROM steps WHERE deployment_id = ? ORDER BY idx').all(deploymentId) as Row[]).map(toStep);
  }

  // ---- events and audit -------------------------------------------------

  insertEvent(e: NewEvent): EventRecord {
    const at = e.at ?? now();
    const info = this.db
      .prepare('INSERT INTO events(deployment_id, app, target, at, level, step, message, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(e.deploymentId ?? null, e.app, e.target, at, e.level, e.step ?? null, capText(e.message), e.data === undefined ? null : boundedJson(e.data));
    return { ...e, seq: Number(info.lastInsertRowid), at };
  }

  listEvents(filter: { app: string; target: string; deploymentId?: string; limit?: number }): EventRecord[] {
    const rows = filter.deploymentId
      ? (this.db.prepare('SELECT * FROM events WHERE deployment_id = ? ORDER BY seq').all(filter.deploymentId) as Row[])
      : (this.db.prepare('SELECT * FROM (SELECT * FROM events WHERE app = ? AND target = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq').all(filter.app, filter.target, filter.limit ?? 100) as Row[]);
    return rows.map(toEvent);
  }

  audit(actor: string, action: string, app?: string, target?: string, detail?: unknown): void {
    this.db.prepare('INSERT INTO audit_log(at, actor, action, app, target, detail) VALUES (?, ?, ?, ?, ?, ?)').run(now(), actor, action, app ?? null, target ?? null, detail === undefined ? null : JSON.stringify(detail));
  }

  listAudit(limit = 100): AuditRecord[] {
    return (this.db.prepare('SELECT * FROM audit_log ORDER BY seq DESC LIMIT ?').all(limit) as Row[]).map(toAudit);
  }

  // ---- locks --------------------------------------------------------------

  /**
   * Take the app+target lock in one IMMEDIATE transaction. A lock whose holder
   * process is gone (same host, dead pid) is stale and taken over.
   * Returns undefined on success, or the live holder.
   */
  tryLock(app: string, target: string, me: LockClaim, isAlive: (l: LockRecord) => boolean): { held?: LockRecord; stale?: LockRecord } {
    return this.db
      .transaction(() => {
        const row = this.db.prepare('SELECT * FROM locks WHERE app = ? AND target = ?').get(app, target) as Row | undefined;
        let stale: LockRecord | undefined;
        const ts = now();
        if (row) {
          const cur = toLock(row);
          if (isAlive(cur)) return { held: cur };
          stale = cur;
          this.db.prepare('DELETE FROM locks WHERE app = ? AND target = ?').run(app, target);
        }
        this.db
          .prepare('INSERT INTO locks(app, target, holder, pid, host, deployment_id, acquired_at, renewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(app, target, me.holder, me.pid, me.host, me.deploymentId ?? null, ts, ts);
        return { stale };
      })
      .immediate();
  }

  renewLock(app: string, target: string, pid: number, host: string): boolean {
    return this.db.prepare('UPDATE locks SET renewed_at = ? WHERE app = ? AND target = ? AND pid = ? AND host = ?').run(now(), app, target, pid, host).changes === 1;
  }

  unlock(app: string, target: string, pid: number, host?: string): void {
    if (host === undefined) this.db.prepare('DELETE FROM locks WHERE app = ? AND target = ? AND pid = ?').run(app, target, pid);
    else this.db.prepare('DELETE FROM locks WHERE app = ? AND target = ? AND pid = ? AND host = ?').run(app, target, pid, host);
  }

  getLock(app: string, target: string): LockRecord | undefined {
    const row = this.db.prepare('SELECT * FROM locks WHERE app = ? AND target = ?').get(app, target) as Row | undefined;
    return row ? toLock(row) : undefined;
  }
}

