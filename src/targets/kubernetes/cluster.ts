/**
 * The Kubernetes API through @kubernetes/client-node: what status, logs,
 * start/stop, restart, scale and doctor read and change (helm keeps the
 * upgrades and rollbacks). The client is imported on first use, so commands
 * that never reach a cluster (and the CLI's start-up) do not load it.
 *
 * client-node 1.x (node-fetch based) is the line that loads on Node 20; 2.x
 * bundles undici 8, which needs Node >= 22.19.
 */
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { KubeconfigFile } from './kubeconfig.js';

type ClientNode = typeof import('@kubernetes/client-node');

export interface PodSummary {
  name: string;
  ready: boolean;
  restarts: number;
  phase: string;
  /** Why a container is not running (CrashLoopBackOff, ImagePullBackOff ...), when one says so. */
  reason?: string;
  labels: Record<string, string>;
}

export interface EventSummary {
  at?: string;
  type: string;
  reason: string;
  object: string;
  objectName: string;
  message: string;
  count: number;
}

export interface Cluster {
  namespace: string;
  server: string;
  version(): Promise<string>;
  namespaceExists(): Promise<boolean>;
  listPods(selector: string): Promise<PodSummary[]>;
  /** The namespace's events about objects whose name starts with `prefix`, newest last. */
  events(prefix: string): Promise<EventSummary[]>;
  /** A Deployment's desired, ready and updated replicas; undefined when it does not exist. */
  deployment(name: string): Promise<{ replicas: number; ready: number; updated: number } | undefined>;
  scaleDeployment(name: string, replicas: number): Promise<void>;
  /** A rollout restart: a new pod-template annotation (as `kubectl rollout restart` sets) makes the Deployment replace its pods. */
  restartDeployment(name: string, at?: Date): Promise<void>;
  /** The HorizontalPodAutoscaler's bounds; undefined when it does not exist. */
  autoscaler(name: string): Promise<{ min: number; max: number } | undefined>;
  setAutoscalerMin(name: string, min: number): Promise<void>;
  /** A SelfSubjectAccessReview: may this identity `verb` `resource` (of `group`, with `subresource`) in the namespace. */
  canI(verb: string, resource: string, group?: string, subresource?: string): Promise<{ allowed: boolean; reason?: string }>;
  /** Creates or updates a Secret by server-side apply (the values in the request body only: no annotation keeps a copy). */
  applySecret(secret: Record<string, unknown>): Promise<void>;
  /** Lines of the pods' logs (container `app`), each with its pod; `follow` keeps reading until `signal` aborts. */
  podLogs(selector: string, opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<{ pod: string; text: string }>;
}

let loaded: Promise<ClientNode> | undefined;
const client = (): Promise<ClientNode> => (loaded ??= import('@kubernetes/client-node'));

/** A failed API call, with the HTTP status when the server answered. */
export class KubeApiError extends GantryError {
  constructor(
    readonly status: number | undefined,
    what: string,
    detail: string,
    server: string,
  ) {
    super(
      'TARGET_UNAVAILABLE',
      status === undefined ? `the Kubernetes API at ${server} does not answer (${what}): ${detail}` : `the Kubernetes API refused ${what} (HTTP ${status}): ${detail}`,
      status === undefined ? 'start the cluster or fix the kubeconfig\'s server (`kubectl cluster-info`); nothing was applied' : status === 403 ? 'the kubeconfig\'s user lacks a permission here: `gantry doctor` lists which' : 'check the namespace and that the app is deployed (`gantry status`)',
    );
  }
}

function apiError(err: unknown, what: string, server: string): KubeApiError {
  const e = err as { code?: unknown; body?: unknown; message?: string };
  // ApiException: `code` is the HTTP status; a fetch failure (refused, DNS, TLS) has none.
  if (typeof e.code === 'number') {
    let message = '';
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
      message = body?.message ?? '';
    } catch {
      message = String(e.body ?? '');
    }
    return new KubeApiError(e.code, what, message || (e.message ?? '').split('\n')[0]!, server);
  }
  return new KubeApiError(undefined, what, (e.message ?? String(err)).split('\n')[0]!.slice(0, 300), server);
}

/** Gives up on a call after DEFAULTS.kubernetes.apiTimeoutMs: an unreachable cluster is named, not waited on. */
async function call<T>(what: string, server: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeApiError(undefined, what, `no answer in ${DEFAULTS.kubernetes.apiTimeoutMs} ms`, server)), DEFAULTS.kubernetes.apiTimeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([fn(), timeout]);
  } catch (err) {
    throw err instanceof KubeApiError ? err : apiError(err, what, server);
  } finally {
    clearTimeout(timer);
  }
}

const notFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;

/** A client for the kubeconfig's context and the target's namespace (nothing is contacted until a call). */
export async function connect(file: KubeconfigFile, namespace: string): Promise<Cluster> {
  const k8s = await client();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(file.text);
  kc.setCurrentContext(file.context);
  const server = file.server;
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const hpa = kc.makeApiClient(k8s.AutoscalingV2Api);
  const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
  const version = kc.makeApiClient(k8s.VersionApi);
  const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

  const cluster: Cluster = {
    namespace,
    server,
    version: () => call('version', server, async () => (await version.getCode()).gitVersion),

    async namespaceExists() {
      try {
        await call(`get namespace ${namespace}`, server, () => core.readNamespace({ name: namespace }));
        return true;
      } catch (err) {
        if (notFound(err)) return false;
        throw err;
      }
    },

    async listPods(selector) {
      const list = await call('list pods', server, () => core.listNamespacedPod({ namespace, labelSelector: selector }));
      return list.items.map((p) => {
        const containers = p.status?.containerStatuses ?? [];
        const waiting = containers.map((c) => c.state?.waiting?.reason ?? c.state?.terminated?.reason).find(Boolean);
        return {
          name: p.metadata?.name ?? '',
          phase: p.status?.phase ?? 'Unknown',
          ready: (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
          restarts: containers.reduce((s, x) => s + (x.restartCount ?? 0), 0),
          reason: waiting,
          labels: p.metadata?.labels ?? {},
        };
      });
    },

    async events(prefix) {
      const list = await call('list events', server, () => core.listNamespacedEvent({ namespace }));
      const at = (e: (typeof list.items)[number]): string | undefined => {
        const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
        return t ? new Date(t as unknown as string).toISOString() : undefined;
      };
      return list.items
        .filter((e) => (e.involvedObject?.name ?? '').startsWith(prefix))
        .map((e) => ({ at: at(e), type: e.type ?? 'Normal', reason: e.reason ?? '', object: `${(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`, objectName: e.involvedObject?.name ?? '', message: (e.message ?? '').trim(), count: e.count ?? 1 }))
        .sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
    },

    async deployment(name) {
      try {
        const d = await call(`get deployment ${name}`, server, () => apps.readNamespacedDeployment({ name, namespace }));
        return { replicas: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0, updated: d.status?.updatedReplicas ?? 0 };
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },

    async scaleDeployment(name, replicas) {
      await call(`scale deployment ${name}`, server, () => apps.patchNamespacedDeployment({ name, namespace, body: { spec: { replicas } } }, merge));
    },

    async restartDeployment(name, when = new Date()) {
      const body = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': when.toISOString() } } } } };
      await call(`restart deployment ${name}`, server, () => apps.patchNamespacedDeployment({ name, namespace, body }, merge));
    },

    async autoscaler(name) {
      try {
        const h = await call(`get horizontalpodautoscaler ${name}`, server, () => hpa.readNamespacedHorizontalPodAutoscaler({ name, namespace }));
        return { min: h.spec?.minReplicas ?? 1, max: h.spec?.maxReplicas ?? 1 };
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },

    async setAutoscalerMin(name, min) {
      await call(`patch horizontalpodautoscaler ${name}`, server, () => hpa.patchNamespacedHorizontalPodAutoscaler({ name, namespace, body: { spec: { minReplicas: min } } }, merge));
    },

    async canI(verb, resource, group = '', subresource) {
      const r = await call('create selfsubjectaccessreview', server, () =>
        authz.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace, verb, resource, group, ...(subresource ? { subresource } : {}) } } } }),
      );
      return { allowed: r.status?.allowed === true, reason: r.status?.reason || undefined };
    },

    async applySecret(secret) {
      const name = (secret.metadata as { name: string }).name;
      // Server-side apply: a client-side apply would copy the values into the last-applied annotation.
      const apply = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
      await call(`apply secret ${name}`, server, () => core.patchNamespacedSecret({ name, namespace, body: secret, fieldManager: 'gantry', force: true }, apply));
    },

    podLogs: (selector, opts) => podLogs(k8s, kc, cluster, selector, opts),
  };
  return cluster;
}

/**
 * Every pod's log through client-node's Log API, merged line by line as they come. Without
 * `follow` it ends when every pod's stream has ended; with it, when the signal aborts.
 */
async function* podLogs(k8s: ClientNode, kc: InstanceType<ClientNode['KubeConfig']>, c: Cluster, selector: string, opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<{ pod: string; text: string }> {
  const pods = await c.listPods(selector);
  const log = new k8s.Log(kc);
  const queue: Array<{ pod: string; text: string }> = [];
  let open = pods.length;
  let wake: (() => void) | undefined;
  const nudge = () => {
    wake?.();
    wake = undefined;
  };
  const controllers: AbortController[] = [];
  const streams: PassThrough[] = [];
  const failures: Error[] = [];
  await Promise.all(
    pods.map(async (p) => {
      const out = new PassThrough();
      streams.push(out);
      const lines = createInterface({ input: out });
      lines.on('line', (text) => {
        queue.push({ pod: p.name, text });
        nudge();
      });
      lines.on('close', () => {
        open--;
        nudge();
      });
      try {
        controllers.push(await log.log(c.namespace, p.name, 'app', out, { follow: opts.follow, tailLines: opts.lines > 0 ? opts.lines : undefined }));
      } catch (err) {
        // A pod still starting has no log yet: it says so once, the others go on.
        failures.push(err as Error);
        out.end();
      }
    }),
  );
  if (failures.length === pods.length && pods.length > 0) throw apiError(failures[0], 'read pod logs', c.server);
  const stop = () => {
    for (const ac of controllers) ac.abort();
    for (const s of streams) s.end();
  };
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    while (true) {
      while (queue.length) yield queue.shift()!;
      if (open <= 0 || opts.signal?.aborted) break;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    stop();
  }
}
