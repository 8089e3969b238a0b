/**
 * The Kubernetes API, through the verified kubectl binary: what status, logs,
 * start/stop, restart and doctor read and change.
 *
 * Why kubectl and not @kubernetes/client-node: client-node 2.x bundles undici 8,
 * which needs Node >= 22.19 and fails at import on the Node 20 Gantry supports
 * ("createZstdDecompress.bind" of undefined). kubectl speaks the same API
 * (`auth can-i` is a SelfSubjectAccessReview), takes argv arrays, and reads the
 * Secret it applies from stdin, never from its arguments.
 */
import { execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import type { KubeconfigFile } from './kubeconfig.js';
import type { Tool } from './tools.js';

export interface Cluster {
  kubectl: Tool;
  kubeconfig: KubeconfigFile;
  namespace: string;
  server: string;
}

export function connect(kubectl: Tool, file: KubeconfigFile, namespace: string): Cluster {
  return { kubectl, kubeconfig: file, namespace, server: file.server };
}

const base = (c: Cluster): string[] => ['--kubeconfig', c.kubeconfig.path, '--context', c.kubeconfig.context, '--namespace', c.namespace, `--request-timeout=${Math.ceil(DEFAULTS.kubernetes.apiTimeoutMs / 1000)}s`];

export class KubectlError extends GantryError {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly notFound: boolean,
  ) {
    super('TARGET_UNAVAILABLE', `kubectl ${args[0]} failed: ${stderr.trim().split('\n').slice(-3).join(' ') || 'no output'}`, 'check the cluster is up and the kubeconfig\'s context points at it (`kubectl cluster-info`)');
  }
}

/** Runs kubectl against the target's cluster and namespace; stdout, or a KubectlError. */
export function kubectl(c: Cluster, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(c.kubectl.path, [...base(c), ...args], { timeout: opts.timeoutMs ?? DEFAULTS.kubernetes.toolTimeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      reject(new KubectlError(args, stderr || err.message, /NotFound|not found/.test(stderr)));
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** The API server's version; TARGET_UNAVAILABLE (with kubectl's reason) when it does not answer. */
export async function serverVersion(c: Cluster): Promise<string> {
  try {
    const v = JSON.parse(await kubectl(c, ['version', '-o', 'json'])) as { serverVersion?: { gitVersion?: string } };
    if (!v.serverVersion?.gitVersion) throw new Error('no server version in the answer');
    return v.serverVersion.gitVersion;
  } catch (err) {
    throw new GantryError('TARGET_UNAVAILABLE', `the Kubernetes API at ${c.server} does not answer: ${err instanceof KubectlError ? err.stderr.trim().split('\n').pop() : (err as Error).message}`, 'start the cluster or fix the kubeconfig\'s server (`kubectl cluster-info`); nothing was applied');
  }
}

/** Whether this identity may `verb` `resource` in the namespace (`kubectl auth can-i`: a SelfSubjectAccessReview). */
export async function canI(c: Cluster, verb: string, resource: string): Promise<boolean> {
  try {
    return (await kubectl(c, ['auth', 'can-i', verb, resource])).trim() === 'yes';
  } catch (err) {
    if (err instanceof KubectlError && /^no\b/m.test(err.stderr + err.message)) return false;
    if (err instanceof KubectlError && err.stderr.trim() === '') return false;
    throw err;
  }
}

export async function namespaceExists(c: Cluster): Promise<boolean> {
  try {
    await kubectl(c, ['get', 'namespace', c.namespace, '-o', 'name']);
    return true;
  } catch (err) {
    if (err instanceof KubectlError && err.notFound) return false;
    throw err;
  }
}

export interface PodSummary {
  name: string;
  ready: boolean;
  restarts: number;
  phase: string;
}

export async function listPods(c: Cluster, selector: string): Promise<PodSummary[]> {
  const list = JSON.parse(await kubectl(c, ['get', 'pods', '-l', selector, '-o', 'json'])) as {
    items: Array<{ metadata: { name: string }; status?: { phase?: string; conditions?: Array<{ type: string; status: string }>; containerStatuses?: Array<{ restartCount: number }> } }>;
  };
  return list.items.map((p) => ({
    name: p.metadata.name,
    phase: p.status?.phase ?? 'Unknown',
    ready: (p.status?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'),
    restarts: (p.status?.containerStatuses ?? []).reduce((s, x) => s + x.restartCount, 0),
  }));
}

export async function deploymentStatus(c: Cluster, name: string): Promise<{ replicas: number; ready: number; updated: number }> {
  const d = JSON.parse(await kubectl(c, ['get', 'deployment', name, '-o', 'json'])) as { spec?: { replicas?: number }; status?: { readyReplicas?: number; updatedReplicas?: number } };
  return { replicas: d.spec?.replicas ?? 0, ready: d.status?.readyReplicas ?? 0, updated: d.status?.updatedReplicas ?? 0 };
}

/** `kubectl rollout restart`: a new pod-template annotation makes the Deployment replace its pods. */
export async function restartDeployment(c: Cluster, name: string): Promise<void> {
  await kubectl(c, ['rollout', 'restart', `deployment/${name}`]);
}

export async function scaleDeployment(c: Cluster, name: string, replicas: number): Promise<void> {
  await kubectl(c, ['scale', `deployment/${name}`, `--replicas=${replicas}`]);
}

/**
 * Creates or updates the app's Secret from values held in memory: sent on stdin, never in argv or a file.
 * Server-side apply: a client-side apply would copy the values into the last-applied annotation.
 */
export async function applySecret(c: Cluster, secret: Record<string, unknown>): Promise<void> {
  await kubectl(c, ['apply', '--server-side', '--force-conflicts', '--field-manager=gantry', '-f', '-'], { input: JSON.stringify(secret) });
}

/** Lines of the pods' logs (`kubectl logs --prefix`), as they come; ends when the signal aborts or kubectl ends. */
export async function* podLogs(c: Cluster, selector: string, opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<{ pod: string; text: string }> {
  const args = ['logs', '-l', selector, '--prefix', '--all-containers=false', '--container=app', `--tail=${opts.lines}`, '--max-log-requests=50', ...(opts.follow ? ['-f'] : [])];
  const child = spawn(c.kubectl.path, [...base(c).filter((a) => !a.startsWith('--request-timeout')), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = () => child.kill('SIGTERM');
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const line of createInterface({ input: child.stdout! })) {
      const m = /^\[pod\/([^/\]]+)\/[^\]]*\] ?(.*)$/.exec(line);
      yield m ? { pod: m[1]!, text: m[2]! } : { pod: '', text: line };
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}
