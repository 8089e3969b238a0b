/**
 * Staging releases on the hosts of one Gantry command: the local release is hashed once
 * and the compressed payloads are shared by every host (they usually lack the same files).
 * A release no longer kept locally can still be used on a host that has it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { GantryError } from '../../core/errors.js';
import type { ReleaseRef, StageResult } from '../../engine/target.js';
import type { SshConnection } from './connection.js';
import { writeMetadata, type ReleaseMetadata, type ReleaseResult } from './layout.js';
import { indexRelease, type ReleaseIndex } from './release-index.js';
import { PayloadCache, syncRelease } from './transfer.js';

export class ReleaseSync {
  private readonly indexes = new Map<string, Promise<ReleaseIndex>>();
  private readonly cache = new PayloadCache();
  private readonly token = randomBytes(6).toString('hex');

  constructor(private readonly place: { path: string; app: string }) {}

  private index(dir: string): Promise<ReleaseIndex> {
    let p = this.indexes.get(dir);
    if (!p) this.indexes.set(dir, (p = indexRelease(dir)));
    return p;
  }

  /** Brings `release` to the host (only the blobs it lacks) and records who staged it, when. */
  async stage(conn: SshConnection, release: ReleaseRef): Promise<StageResult> {
    const localDir = release.artifact.ref;
    const loc = { path: this.place.path, app: this.place.app, releaseId: release.id };
    if (!existsSync(localDir)) {
      // Pruned here (or built on another machine): fine when the host still has it.
      const r = await conn.exec(['test', '-d', `${this.place.path}/${this.place.app}/releases/${release.id}`]);
      if (r.code === 0) return { bytesSent: 0, filesSent: 0, filesTotal: 0 };
      throw new GantryError('RELEASE_NOT_FOUND', `release ${release.id} is neither on ${conn.label} nor in ${localDir} to send it from`, 'deploy it again (a new build), or roll back to a release this host has (`gantry releases`)');
    }
    const r = await syncRelease(conn, { ...loc, localDir, index: await this.index(localDir), persist: release.persist, cache: this.cache, token: this.token });
    if (!r.alreadyPresent) await writeMetadata(conn, loc, { ...releaseMetadata(this.place.app, release.id, 'pending'), bytes_sent: r.bytesSent });
    return { bytesSent: r.bytesSent, filesSent: r.filesSent, filesTotal: r.filesTotal };
  }

  dispose(): void {
    this.cache.dispose();
  }
}

/** A release's metadata on a host as of now: who (user@machine) did what to it, when. */
export function releaseMetadata(app: string, release: string, result: ReleaseResult): ReleaseMetadata {
  return { release, app, who: `${userInfo().username}@${hostname()}`, when: new Date().toISOString(), result };
}
