/** What both state stores share: rows to records, bounded event data, the clock. */
import { capText } from '../core/bounded.js';
import { DEFAULTS } from '../core/defaults.js';
import type { AuditRecord, DeploymentPatch, DeploymentRecord, DeploymentStatus, EventRecord, LockRecord, ReleaseRecord, StepRecord, TargetRecord } from './types.js';

export type Row = Record<string, unknown>;

export const now = (): string => new Date().toISOString();

/**
 * Event data as JSON, bounded: long strings at its top level (an error quoting huge
 * output) are cut; data still too large is replaced by a note saying so.
 */
export function boundedJson(data: unknown): string {
  const max = DEFAULTS.output.storedTextMaxBytes;
  const fits = (json: string): boolean => json.length * 3 <= max || Buffer.byteLength(json) <= max;
  let json = JSON.stringify(data);
  if (fits(json)) return json;
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) {
    json = JSON.stringify(Object.fromEntries(Object.entries(data).map(([k, v]) => [k, typeof v === 'string' ? capText(v, max / 4) : v])));
    if (fits(json)) return json;
  }
  return JSON.stringify({ truncated: true, bytes: Buffer.byteLength(json) });
}

export const isFinal = (s: DeploymentStatus): boolean => s !== 'pending' && s !== 'running';

export function toTarget(r: Row): TargetRecord {
  return {
    app: String(r.app),
    name: String(r.name),
    type: String(r.type),
    currentRelease: (r.current_release as string) ?? undefined,
    desiredState: r.desired_state as TargetRecord['desiredState'],
    instances: Number(r.instances),
    scaledFromManifest: r.scaled_from_manifest === null || r.scaled_from_manifest === undefined ? undefined : Number(r.scaled_from_manifest),
    heldNodes: r.held_nodes ? (JSON.parse(String(r.held_nodes)) as string[]) : [],
    settings: JSON.parse(String(r.settings)),
    updatedAt: String(r.updated_at),
  };
}

export function toRelease(r: Row): ReleaseRecord {
  return {
    id: String(r.id),
    app: String(r.app),
    target: String(r.target),
    createdAt: String(r.created_at),
    contentHash: String(r.content_hash),
    artifact: JSON.parse(String(r.artifact)),
    manifest: JSON.parse(String(r.manifest)),
    status: r.status as ReleaseRecord['status'],
    lastGoodAt: (r.last_good_at as string) ?? undefined,
    deleted: Number(r.deleted) === 1,
    version: Number(r.version ?? 0),
    git: r.git ? (JSON.parse(String(r.git)) as ReleaseRecord['git']) : undefined,
    buildKey: (r.build_key as string) ?? undefined,
  };
}

export function toDeployment(r: Row): DeploymentRecord {
  return {
    id: String(r.id),
    app: String(r.app),
    target: String(r.target),
    targetType: String(r.target_type),
    kind: r.kind as DeploymentRecord['kind'],
    release: (r.release as string) ?? undefined,
    previousRelease: (r.previous_release as string) ?? undefined,
    status: r.status as DeploymentStatus,
    reason: (r.reason as string) ?? undefined,
    waiting: (r.waiting as string) ?? undefined,
    control: (r.control as DeploymentRecord['control']) ?? undefined,
    externalId: (r.external_id as string) ?? undefined,
    accessUrl: (r.access_url as string) ?? undefined,
    registryImage: (r.registry_image as string) ?? undefined,
    platformConfig: JSON.parse(String(r.platform_config)),
    plan: JSON.parse(String(r.plan)),
    actor: String(r.actor),
    pid: r.pid == null ? undefined : Number(r.pid),
    createdAt: String(r.created_at),
    startedAt: (r.started_at as string) ?? undefined,
    finishedAt: (r.finished_at as string) ?? undefined,
  };
}

export function toLock(r: Row): LockRecord {
  return {
    app: String(r.app),
    target: String(r.target),
    holder: String(r.holder),
    pid: Number(r.pid),
    host: String(r.host),
    deploymentId: (r.deployment_id as string) ?? undefined,
    acquiredAt: String(r.acquired_at),
    renewedAt: (r.renewed_at as string) ?? undefined,
  };
}

export function toStep(r: Row): StepRecord {
  return {
    deploymentId: String(r.deployment_id),
    idx: Number(r.idx),
    kind: String(r.kind),
    params: JSON.parse(String(r.params)),
    status: r.status as StepRecord['status'],
    startedAt: (r.started_at as string) ?? undefined,
    finishedAt: (r.finished_at as string) ?? undefined,
    error: (r.error as string) ?? undefined,
  };
}

export function toEvent(r: Row): EventRecord {
  return {
    seq: Number(r.seq),
    deploymentId: (r.deployment_id as string) ?? undefined,
    app: String(r.app),
    target: String(r.target),
    at: String(r.at),
    level: r.level as EventRecord['level'],
    step: (r.step as string) ?? undefined,
    message: String(r.message),
    data: r.data ? JSON.parse(String(r.data)) : undefined,
  };
}

export function toAudit(r: Row): AuditRecord {
  return {
    seq: Number(r.seq),
    at: String(r.at),
    actor: String(r.actor),
    action: String(r.action),
    app: (r.app as string) ?? undefined,
    target: (r.target as string) ?? undefined,
    detail: r.detail ? JSON.parse(String(r.detail)) : undefined,
  };
}

/** The columns of an UPDATE of deployments from a patch (both stores; `?` placeholders). */
export function deploymentPatch(patch: DeploymentPatch): { cols: string[]; vals: unknown[] } {
  const cols: string[] = [];
  const vals: unknown[] = [];
  const map: Record<string, string> = { release: 'release', previousRelease: 'previous_release', status: 'status', reason: 'reason', waiting: 'waiting', control: 'control', externalId: 'external_id', accessUrl: 'access_url', registryImage: 'registry_image', plan: 'plan' };
  for (const [k, v] of Object.entries(patch)) {
    cols.push(`${map[k]} = ?`);
    vals.push(k === 'plan' ? JSON.stringify(v) : typeof v === 'string' ? capText(v) : (v ?? null));
  }
  if (patch.status && isFinal(patch.status)) {
    cols.push('finished_at = ?');
    vals.push(now());
  }
  return { cols, vals };
}
