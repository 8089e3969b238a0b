/** Backups and restore of an app+target, through the BackupService handed to the engine. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { converge } from './converge.js';
import { acquireLock } from './lock.js';
import { open } from './open.js';
import type { BackupService, Opened } from './types.js';
import { withTarget } from './with-target.js';

function backupService(engine: EngineContext): BackupService {
  if (!engine.opts.backups) throw new GantryError('USAGE', 'backups are not available here', 'run gantry from the CLI, which hands the engine its backup service');
  return engine.opts.backups;
}

/** Where the app's encrypted secrets are, when a secret store is configured. */
function appSecretsDir(engine: EngineContext, app: string): string | undefined {
  return engine.opts.secrets?.appDir(app);
}

export function backupsDir(engine: EngineContext): string {
  return join(engine.opts.stateDir, 'backups');
}

/**
 * One archive: the state (SQLite online backup), the target's artifacts and
 * persistent data, and, only when asked, the app's encrypted secrets.
 */
export async function backup(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: { includeSecrets?: boolean; out?: string; reason?: string; wait?: boolean } = {}) {
  const o = await open(engine, loaded, targetName);
  try {
    // The deploy lock: a deploy builds `.partial` dirs and prunes releases while a backup would walk them.
    const unlock = await acquireLock(engine.store, o.app, o.name, {
      command: 'backup',
      wait: opts.wait ?? false,
      onWait: (h) => engine.emit({ app: o.app, target: o.name }, 'info', `waiting for the deploy lock held by ${h.holder} since ${h.acquiredAt}`, 'lock'),
    });
    try {
      return await backupOpened(engine, o, opts);
    } finally {
      unlock();
    }
  } finally {
    await o.runtime.close();
  }
}

export async function backupOpened(engine: EngineContext, o: Opened, opts: { includeSecrets?: boolean; out?: string; reason?: string }) {
  const b = backupService(engine);
  const dirs = ((await o.target.dataDirs?.(o.ctx, o.manifest.persist, 'backup')) ?? []).filter((d) => existsSync(d.dir));
  const file = opts.out ?? join(backupsDir(engine), await b.fileName(o.app, o.name));
  const appSecrets = appSecretsDir(engine, o.app);
  // The state as a SQLite database (the store's own file, or the app's rows copied out of PostgreSQL).
  const snapshot = engine.store.stateSnapshot(o.app);
  let r: Awaited<ReturnType<BackupService['create']>>;
  try {
    r = await b.create({
      outFile: file,
      db: snapshot.db,
      app: o.app,
      target: o.name,
      release: o.record.currentRelease,
      stateSchemaVersion: engine.store.schemaVersion,
      dataDirs: dirs.map(({ name, dir, skip }) => ({ name, dir, skip })),
      secretsDir: opts.includeSecrets && appSecrets && existsSync(appSecrets) ? appSecrets : undefined,
    });
  } finally {
    snapshot.release();
  }
  engine.store.audit(engine.opts.actor, 'backup', o.app, o.name, { file: r.file, bytes: r.bytes, includesSecrets: r.manifest.includesSecrets, reason: opts.reason });
  engine.emit({ app: o.app, target: o.name }, 'info', `backup written: ${r.file} (${r.bytes} bytes${opts.reason ? `, ${opts.reason}` : ''})`, 'backup');
  return { file: r.file, bytes: r.bytes, created_at: r.manifest.createdAt, app: o.app, target: o.name, release: r.manifest.release, entries: r.manifest.entries.length, includes_secrets: r.manifest.includesSecrets };
}

export async function backups(engine: EngineContext, loaded: LoadedManifest) {
  const list = await backupService(engine).list(backupsDir(engine));
  return list
    .filter((b) => !b.manifest || b.manifest.app === loaded.manifest.app)
    .map((b) => ({ file: b.file, bytes: b.bytes, created_at: b.manifest?.createdAt, app: b.manifest?.app, target: b.manifest?.target, release: b.manifest?.release, includes_secrets: b.manifest?.includesSecrets, entries: b.manifest?.entries.length, files: b.manifest?.entries.map((e) => ({ path: e.path, size: e.size, sha256: e.sha256 })), problem: b.problem }));
}

/**
 * Extract and check the whole backup beside what it replaces while the app still runs,
 * then stop what runs, swap state, data and secrets in (renames only), and bring the
 * recorded release back up. A damaged or foreign backup is refused before anything stops.
 */
export async function restore(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, file: string, opts: { force?: boolean; wait?: boolean } = {}) {
  const b = backupService(engine);
  return withTarget(engine, loaded, targetName, 'restore', opts.wait ?? false, async (o) => {
    const manifest = await b.inspect(file);
    const dirs = (await o.target.dataDirs?.(o.ctx, o.manifest.persist, 'restore')) ?? [];
    const wanted = dirs.filter((d) => manifest.entries.some((e) => e.path === `data/${d.name}` || e.path.startsWith(`data/${d.name}/`)));
    const appSecrets = appSecretsDir(engine, o.app);
    if (manifest.includesSecrets && !appSecrets) throw new GantryError('RESTORE_REFUSED', `${file} holds secrets but no secret store is configured to restore them into`, 'run gantry from the CLI, which opens .gantry/secrets');
    const newest = engine.store.newestDeploymentAt(o.app);
    // Refusals (foreign, older than what is here, then damaged while staging) come before anything stops.
    if (!opts.force && newest && newest > manifest.createdAt) {
      throw new GantryError('RESTORE_REFUSED', `the state here has deployments newer than the backup (${newest} > ${manifest.createdAt})`, 'pass --force to go back to the backup anyway');
    }
    if (manifest.app !== o.app) throw new GantryError('RESTORE_REFUSED', `${file} is a backup of app "${manifest.app}", not "${o.app}"`, 'restore it with the manifest of that app');
    engine.emit({ app: o.app, target: o.name }, 'info', `extracting and checking ${file} beside the current data (the app keeps running)`, 'restore');
    const staged = await b.stage({
      file,
      stateDbFile: engine.store.file,
      dataDirs: wanted.map(({ name, dir }) => ({ name, dir })),
      secretsDir: manifest.includesSecrets ? appSecrets : undefined,
      currentState: { app: o.app, newestDeploymentAt: newest },
      force: true,
    });
    try {
      await o.runtime.shutdown(o.manifest.strategy.stop_timeout);
    } catch (e) {
      await staged.discard();
      throw e;
    }
    await engine.store.restoreState(o.app, () => staged.commit());
    // Data kept elsewhere (remote hosts) goes back from where the restore wrote it.
    for (const d of wanted) await d.commit?.();
    o.record = engine.store.getTarget(o.app, o.name) ?? engine.store.ensureTarget(o.app, o.name, o.target.type);
    o.ctx.settings = o.record.settings;
    engine.store.audit(engine.opts.actor, 'restore', o.app, o.name, { file, createdAt: manifest.createdAt, release: manifest.release });
    const rel = o.record.currentRelease ? engine.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
    try {
      if (rel && o.record.desiredState === 'running') {
        const n = o.record.instances;
        const r = await converge(engine, o, { kind: 'start', rel, count: n, reconciled: [], headline: `start ${o.app} release ${rel.id} on ${o.name} after the restore (${n} instance${n === 1 ? '' : 's'})`, reason: 'started after a restore' });
        if (r.status !== 'succeeded') throw new GantryError('START_FAILED', `the backup was restored, but release ${rel.id} did not start: ${r.reason}`, '`gantry logs` shows what it printed; `gantry start` tries again');
      }
    } finally {
      // The replaced copies are deleted while the app starts.
      await staged.cleanup();
    }
    return { file, restored_at: new Date().toISOString(), backup_created_at: manifest.createdAt, app: o.app, target: o.name, release: o.record.currentRelease, files: manifest.entries.length, url: await o.runtime.accessUrl() };
  });
}
