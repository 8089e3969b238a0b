/**
 * The pod of a release: one container with the image, port, environment
 * (ConfigMap, Secret by reference), resources, the three probes from `health`,
 * preStop and grace period from the drain and stop timeouts, and the persist mounts.
 */
import { posix } from 'node:path';
import type { ChartInput } from './chart-input.js';
import { seconds } from './chart-input.js';
import { claimName, meta, names, trackLabels, type Track } from './object-names.js';
import { valueRef } from './values-ref.js';

type Obj = Record<string, unknown>;

export function probeHandler(i: ChartInput): Obj {
  const h = i.health;
  if (h.type === 'command') return { exec: { command: ['sh', '-c', h.command ?? 'true'] } };
  if (h.type === 'tcp') return { tcpSocket: { port: 'http' } };
  return { httpGet: { path: h.path, port: 'http' } };
}

/** readiness, liveness and startup probes: `start_period` is the startup probe's budget, `retries` the failures that count. */
export function probes(i: ChartInput): { readinessProbe: Obj; livenessProbe: Obj; startupProbe: Obj } {
  const h = i.health;
  const timing = { periodSeconds: seconds(h.intervalMs), timeoutSeconds: seconds(h.timeoutMs) };
  return {
    readinessProbe: { ...probeHandler(i), ...timing, failureThreshold: h.retries, successThreshold: 1 },
    livenessProbe: { ...probeHandler(i), ...timing, failureThreshold: h.retries, successThreshold: 1 },
    startupProbe: { ...probeHandler(i), ...timing, failureThreshold: Math.ceil(h.startPeriodMs / Math.max(1, h.intervalMs)) + h.retries, successThreshold: 1 },
  };
}

export function resources(i: ChartInput): Obj | undefined {
  const r = i.config.resources;
  if (!r) return undefined;
  const requests = { ...(r.cpu ? { cpu: r.cpu } : {}), ...(r.memory ? { memory: r.memory } : {}) };
  // Memory has a limit by default (a pod past it is killed, not the node); CPU is throttled only when asked.
  const limits = { ...(r.limits?.cpu ? { cpu: r.limits.cpu } : {}), ...((r.limits?.memory ?? r.memory) ? { memory: r.limits?.memory ?? r.memory } : {}) };
  return { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) };
}

export function podTemplate(i: ChartInput, track: Track, image: string): Obj {
  const n = names(i);
  const drain = seconds(i.strategy.drainMs, 0);
  const res = resources(i);
  const container: Obj = {
    name: 'app',
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: i.port, protocol: 'TCP' }],
    env: [{ name: 'PORT', value: String(i.port) }],
    envFrom: [{ configMapRef: { name: n.env } }, ...(i.secretNames.length ? [{ secretRef: { name: n.secrets } }] : [])],
    ...(res ? { resources: res } : {}),
    ...probes(i),
    // The endpoint is removed first; in-flight requests get the drain time before SIGTERM.
    ...(drain > 0 ? { lifecycle: { preStop: { sleep: { seconds: drain } } } } : {}),
    ...(i.persist.length ? { volumeMounts: i.persist.map((p) => ({ name: claimName(i, p), mountPath: posix.join(i.config.workdir, p) })) } : {}),
  };
  return {
    // Per track, from values: a canary's upgrade leaves the stable track's pods alone, and a release that
    // changed only env or secret values (same image) still replaces its pods (they read them at start).
    metadata: { labels: trackLabels(i, track), annotations: { 'gantry.dev/release': valueRef(`${track}.release`) } },
    spec: {
      serviceAccountName: n.serviceAccount,
      terminationGracePeriodSeconds: drain + seconds(i.strategy.stopMs),
      ...(i.config.image_pull_secret ? { imagePullSecrets: [{ name: i.config.image_pull_secret }] } : {}),
      containers: [container],
      ...(i.persist.length ? { volumes: i.persist.map((p) => ({ name: claimName(i, p), persistentVolumeClaim: { claimName: claimName(i, p) } })) } : {}),
    },
  };
}

export { meta };
