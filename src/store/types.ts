export type DeploymentStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'rolled_back' | 'interrupted';
export type DeploymentKind = 'deploy' | 'rollback' | 'start' | 'stop' | 'restart' | 'scale';

export interface TargetRecord {
  app: string;
  name: string;
  type: string;
  currentRelease?: string;
  desiredState: 'running' | 'stopped';
  instances: number;
  /** Set by `gantry scale`: the manifest's run.instances when it scaled (the scaled count holds until that value changes). */
  scaledFromManifest?: number;
  /** Many-node targets: nodes stopped on their own (`gantry stop --host`); convergence leaves them stopped. */
  heldNodes: string[];
  /** Owned by the target implementation (e.g. the proxy port it reserved). */
  settings: Record<string, unknown>;
  updatedAt: string;
}

export interface ReleaseRecord {
  id: string;
  app: string;
  target: string;
  createdAt: string;
  contentHash: string;
  artifact: Record<string, unknown>;
  manifest: Record<string, unknown>;
  status: 'built' | 'active' | 'superseded' | 'failed';
  lastGoodAt?: string;
  deleted: boolean;
  /** 1, 2 ... per app+target (shown as v1, v2). */
  version: number;
  /** The git commit the release was made from, when the app is in a git work tree. */
  git?: GitSource;
  /** What the artifact was built from (code and build inputs, not env or secrets). */
  buildKey?: string;
}

export type { GitSource } from '../core/git.js';
import type { GitSource } from '../core/git.js';

export interface DeploymentRecord {
  id: string;
  app: string;
  target: string;
  targetType: string;
  kind: DeploymentKind;
  release?: string;
  previousRelease?: string;
  status: DeploymentStatus;
  reason?: string;
  waiting?: string;
  control?: 'promote' | 'abort';
  externalId?: string;
  accessUrl?: string;
  registryImage?: string;
  platformConfig: Record<string, unknown>;
  plan: unknown[];
  actor: string;
  pid?: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface StepRecord {
  deploymentId: string;
  idx: number;
  kind: string;
  params: unknown;
  status: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

export interface EventRecord {
  seq: number;
  deploymentId?: string;
  app: string;
  target: string;
  at: string;
  level: 'info' | 'warn' | 'error';
  step?: string;
  message: string;
  data?: unknown;
}

export interface LockRecord {
  app: string;
  target: string;
  holder: string;
  pid: number;
  host: string;
  deploymentId?: string;
  acquiredAt: string;
  /** When the holder last renewed its lease (a lock from another host is stale when this is older than the lease). */
  renewedAt?: string;
}

export interface AuditRecord {
  seq: number;
  at: string;
  actor: string;
  action: string;
  app?: string;
  target?: string;
  detail?: unknown;
}

export type TargetPatch = Partial<Pick<TargetRecord, 'currentRelease' | 'desiredState' | 'instances' | 'scaledFromManifest' | 'heldNodes' | 'settings'>>;
export type DeploymentPatch = Partial<Pick<DeploymentRecord, 'release' | 'previousRelease' | 'status' | 'reason' | 'waiting' | 'control' | 'externalId' | 'accessUrl' | 'registryImage' | 'plan'>>;
export type NewRelease = Omit<ReleaseRecord, 'createdAt' | 'lastGoodAt' | 'deleted' | 'version'>;
export type NewDeployment = Pick<DeploymentRecord, 'id' | 'app' | 'target' | 'targetType' | 'kind' | 'actor'> & Partial<DeploymentRecord>;
export type NewEvent = Omit<EventRecord, 'seq' | 'at'> & { at?: string };
export type NewStep = { kind: string; params: unknown };
export type LockClaim = Omit<LockRecord, 'acquiredAt' | 'renewedAt' | 'app' | 'target'>;
