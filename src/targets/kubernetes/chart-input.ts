/**
 * Everything a chart is rendered from, in one plain object: the target's
 * config, the parts of the release's manifest a cluster needs, and the images.
 * Secret values are never part of it (only their names).
 */
import type { StoredManifest } from '../../manifest/index.js';
import { DEFAULTS } from '../../core/defaults.js';
import type { KubernetesConfig } from './config.js';

export type Strategy = 'recreate' | 'rolling' | 'blue-green' | 'canary';

export interface ChartInput {
  app: string;
  release: string;
  /** Helm release name (also the prefix of every object's name). */
  name: string;
  config: KubernetesConfig;
  port: number;
  replicas: number;
  env: Record<string, string>;
  /** Names of the app's secrets (values go to a Secret created at deploy time, never the chart). */
  secretNames: string[];
  persist: string[];
  health: { type: 'http' | 'tcp' | 'command'; path: string; command?: string; intervalMs: number; timeoutMs: number; startPeriodMs: number; retries: number };
  strategy: { type: Strategy; maxSurge: number; maxUnavailable: number; steps: number[]; pause: number | 'manual'; keepPreviousMs: number; drainMs: number; stopMs: number };
  autoscale?: { min: number; max: number; cpuPercent: number };
  /** The manifest's hooks: run as Helm hook Jobs (hook-jobs.ts). Absent in inputs kept before hooks ran here. */
  hooks?: { pre_deploy?: string; post_deploy?: string };
  /** The image this release runs. */
  image: string;
  /** The image serving now (blue-green and canary keep it as the stable track); the new image on a first deploy. */
  stableImage: string;
  /** The release serving now (its id marks the stable track's pods); this release on a first deploy. */
  stableRelease: string;
}

/** The chart's input from a release: manifest sections with their schema defaults applied, plus the target's config. */
export function chartInput(o: { app: string; release: string; config: KubernetesConfig; manifest: StoredManifest; image: string; stable?: { image: string; release: string } }): ChartInput {
  const m = o.manifest;
  const a = o.config.autoscale ?? (m.autoscale ? { min: m.autoscale.min, max: m.autoscale.max, cpu_percent: m.autoscale.cpu_percent ?? DEFAULTS.kubernetes.hpaCpuPercent } : undefined);
  return {
    app: o.app,
    release: o.release,
    name: o.config.release_name ?? o.app,
    config: o.config,
    port: m.run.port,
    replicas: o.config.replicas ?? m.run.instances,
    env: Object.fromEntries(Object.entries(m.env ?? {}).map(([k, v]) => [k, String(v)])),
    secretNames: [...(m.secrets ?? [])],
    persist: [...(m.persist ?? [])],
    health: { type: m.health.type ?? (m.health.command ? 'command' : 'http'), path: m.health.path ?? '/', command: m.health.command, intervalMs: m.health.interval, timeoutMs: m.health.timeout, startPeriodMs: m.health.start_period, retries: m.health.retries },
    strategy: {
      type: m.strategy.type,
      maxSurge: m.strategy.max_surge,
      maxUnavailable: m.strategy.max_unavailable,
      steps: [...m.strategy.steps],
      pause: m.strategy.pause,
      keepPreviousMs: m.strategy.keep_previous,
      drainMs: m.strategy.drain_timeout,
      stopMs: m.strategy.stop_timeout,
    },
    autoscale: a ? { min: a.min, max: a.max, cpuPercent: Math.round(a.cpu_percent) } : undefined,
    hooks: m.hooks?.pre_deploy || m.hooks?.post_deploy ? { ...(m.hooks.pre_deploy ? { pre_deploy: m.hooks.pre_deploy } : {}), ...(m.hooks.post_deploy ? { post_deploy: m.hooks.post_deploy } : {}) } : undefined,
    image: o.image,
    stableImage: o.stable?.image ?? o.image,
    stableRelease: o.stable?.release ?? o.release,
  };
}

/** Whole seconds for a field the API takes in seconds (at least `min`). */
export const seconds = (ms: number, min = 1): number => Math.max(min, Math.ceil(ms / 1000));

/** Blue-green and canary run two tracks (stable and canary) unless Argo Rollouts runs them. */
export const twoTracks = (i: ChartInput): boolean => (i.strategy.type === 'blue-green' || i.strategy.type === 'canary') && i.config.engine === 'deployment';
export const usesRollout = (i: ChartInput): boolean => (i.strategy.type === 'blue-green' || i.strategy.type === 'canary') && i.config.engine === 'argo-rollouts';
