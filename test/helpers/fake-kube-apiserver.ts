/**
 * A FAKE Kubernetes API server for tests (no real kube-apiserver can run on
 * these machines). A small node:http server holding objects in memory that
 * answers only the REST paths Gantry's kubernetes operations use:
 * /version, namespaces get, pods list (labelSelector), pod log (follow
 * streams), events list, deployments get/patch (merge patch), HPA get/patch,
 * secrets server-side apply, selfsubjectaccessreviews create. Bearer-token
 * auth. It plays the controllers' part crudely: a Deployment's replicas
 * become that many Ready pods at once, and a new restartedAt annotation
 * replaces them. It is not Kubernetes: anything it does not know is a 404.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Obj = Record<string, any>;

export interface FakePod {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  restarts: number;
  phase: string;
  /** A waiting container's reason (CrashLoopBackOff ...). */
  reason?: string;
  log: string[];
}

export interface FakeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  kind: string;
  name: string;
  message: string;
  count?: number;
}

/** RFC 7386 JSON merge patch (null removes). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Obj = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Obj) } : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

const status = (code: number, reason: string, message: string): Obj => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

export class FakeKubeApiServer {
  readonly token = `fake-token-${randomBytes(6).toString('hex')}`;
  readonly namespaces = new Set<string>();
  readonly deployments = new Map<string, Obj>();
  readonly autoscalers = new Map<string, Obj>();
  readonly secrets = new Map<string, Obj>();
  readonly pods = new Map<string, FakePod>();
  readonly events: FakeEvent[] = [];
  /** "verb resource[/subresource]" the SelfSubjectAccessReview answers no to. */
  readonly denied = new Set<string>();
  /** Every request: method, path (no query) and Content-Type. */
  readonly requests: Array<{ method: string; path: string; contentType?: string; body?: unknown }> = [];
  private readonly followers = new Map<string, Set<ServerResponse>>();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const set of this.followers.values()) for (const res of set) res.end();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** client-node speaks plain HTTP only with insecure-skip-tls-verify (the fake has no certificate). */
  kubeconfig(namespace = 'default', token = this.token): string {
    return `apiVersion: v1
kind: Config
clusters: [{ name: fake, cluster: { server: "${this.url}", insecure-skip-tls-verify: true } }]
users: [{ name: fake-user, user: { token: "${token}" } }]
contexts: [{ name: fake, context: { cluster: fake, user: fake-user, namespace: "${namespace}" } }]
current-context: fake
`;
  }

  /** A Deployment as helm would have created it from the chart (its pods follow its replicas). */
  addDeployment(name: string, labels: Record<string, string>, replicas: number): void {
    this.deployments.set(name, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: [...this.namespaces][0] ?? 'default', labels, generation: 1 }, spec: { replicas, selector: { matchLabels: labels }, template: { metadata: { labels, annotations: {} } } }, status: {} });
    this.reconcile(name);
  }

  podsOf(deployment: string): FakePod[] {
    return [...this.pods.values()].filter((p) => p.name.startsWith(`${deployment}-`));
  }

  /** A line written by a pod: kept, and sent to every follower of its log. */
  appendLog(pod: string, line: string): void {
    this.pods.get(pod)!.log.push(line);
    for (const res of this.followers.get(pod) ?? []) res.write(`${line}\n`);
  }

  followerCount(pod: string): number {
    return this.followers.get(pod)?.size ?? 0;
  }

  /** The controllers' part: as many Ready pods as the replicas, all of the current template. */
  private reconcile(name: string): void {
    const d = this.deployments.get(name)!;
    const template = JSON.stringify(d.spec.template);
    if (d.status.template !== template) {
      for (const p of this.podsOf(name)) this.pods.delete(p.name);
      d.status.template = template;
    }
    const want = d.spec.replicas ?? 1;
    const have = this.podsOf(name);
    for (const p of have.slice(want)) this.pods.delete(p.name);
    for (let i = have.length; i < want; i++) {
      const pod = `${name}-${randomBytes(3).toString('hex')}`;
      this.pods.set(pod, { name: pod, labels: { ...d.spec.template.metadata.labels }, ready: true, restarts: 0, phase: 'Running', log: [`${pod} started`] });
    }
    d.status = { template, replicas: want, readyReplicas: want, updatedReplicas: want, availableReplicas: want, observedGeneration: d.metadata.generation };
  }

  private podObject(p: FakePod, namespace: string): Obj {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace, labels: p.labels },
      spec: { containers: [{ name: 'app', image: 'fake' }] },
      status: {
        phase: p.phase,
        conditions: [{ type: 'Ready', status: p.ready ? 'True' : 'False' }],
        containerStatuses: [{ name: 'app', image: 'fake', imageID: '', ready: p.ready, restartCount: p.restarts, state: p.reason ? { waiting: { reason: p.reason } } : { running: {} } }],
      },
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? (JSON.parse(text) as unknown) : undefined;
    this.requests.push({ method: req.method ?? '', path: url.pathname, contentType: req.headers['content-type'], body });
    const send = (code: number, obj: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    if (req.headers.authorization !== `Bearer ${this.token}`) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    const m = (re: RegExp) => re.exec(url.pathname);
    let g: RegExpExecArray | null;
    if (url.pathname === '/version') return send(200, { major: '1', minor: '31', gitVersion: 'v1.31.0-fake', platform: 'linux/amd64' });
    if ((g = m(/^\/api\/v1\/namespaces\/([^/]+)$/)) && req.method === 'GET') {
      return this.namespaces.has(g[1]!) ? send(200, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: g[1] }, status: { phase: 'Active' } }) : send(404, status(404, 'NotFound', `namespaces "${g[1]}" not found`));
    }
    if ((g = m(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/)) && req.method === 'GET') {
      const want = (url.searchParams.get('labelSelector') ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]);
      const items = [...this.pods.values()].filter((p) => want.every(([k, v]) => p.labels[k] === v)).map((p) => this.podObject(p, g![1]!));
      return send(200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
    }
    if ((g = m(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/)) && req.method === 'GET') {
      const pod = this.pods.get(g[2]!);
      if (!pod) return send(404, status(404, 'NotFound', `pods "${g[2]}" not found`));
      const tail = Number(url.searchParams.get('tailLines') ?? 0);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(pod.log.slice(tail > 0 ? -tail : 0).map((l) => `${l}\n`).join(''));
      if (url.searchParams.get('follow') !== 'true') return void res.end();
      const set = this.followers.get(pod.name) ?? new Set();
      this.followers.set(pod.name, set);
      set.add(res);
      res.on('close', () => set.delete(res));
      return;
    }
    if ((g = m(/^\/api\/v1\/namespaces\/([^/]+)\/events$/)) && req.method === 'GET') {
      const items = this.events.map((e, n) => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: `${e.name}.${n}`, namespace: g![1] }, involvedObject: { kind: e.kind, name: e.name, namespace: g![1] }, type: e.type, reason: e.reason, message: e.message, count: e.count ?? 1, lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString() }));
      return send(200, { apiVersion: 'v1', kind: 'EventList', metadata: {}, items });
    }
    if ((g = m(/^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/)) && req.method === 'PATCH') {
      if (req.headers['content-type'] !== 'application/apply-patch+yaml') return send(415, status(415, 'UnsupportedMediaType', 'the fake takes server-side apply for secrets'));
      this.secrets.set(g[2]!, body as Obj);
      return send(200, body);
    }
    if ((g = m(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/))) {
      const d = this.deployments.get(g[2]!);
      if (!d) return send(404, status(404, 'NotFound', `deployments.apps "${g[2]}" not found`));
      // Ready replicas as the pods are now (a test may have made one not Ready).
      if (req.method === 'GET') return send(200, { ...d, status: { ...d.status, readyReplicas: this.podsOf(g[2]!).filter((p) => p.ready).length } });
      if (req.method === 'PATCH') {
        if (req.headers['content-type'] !== 'application/merge-patch+json' && req.headers['content-type'] !== 'application/strategic-merge-patch+json') return send(415, status(415, 'UnsupportedMediaType', `the fake takes merge patches, not ${req.headers['content-type']}`));
        const { status: st, ...rest } = d;
        const next = mergePatch(rest, body) as Obj;
        next.metadata.generation = (d.metadata.generation ?? 1) + 1;
        this.deployments.set(g[2]!, { ...next, status: st });
        this.reconcile(g[2]!);
        return send(200, this.deployments.get(g[2]!));
      }
    }
    if ((g = m(/^\/apis\/autoscaling\/v2\/namespaces\/([^/]+)\/horizontalpodautoscalers\/([^/]+)$/))) {
      const h = this.autoscalers.get(g[2]!);
      if (!h) return send(404, status(404, 'NotFound', `horizontalpodautoscalers.autoscaling "${g[2]}" not found`));
      if (req.method === 'GET') return send(200, h);
      if (req.method === 'PATCH') {
        this.autoscalers.set(g[2]!, mergePatch(h, body) as Obj);
        return send(200, this.autoscalers.get(g[2]!));
      }
    }
    if (url.pathname === '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews' && req.method === 'POST') {
      const a = (body as Obj).spec.resourceAttributes as Obj;
      const key = `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
      const allowed = !this.denied.has(key);
      return send(201, { ...(body as Obj), status: { allowed, ...(allowed ? {} : { reason: 'no RBAC rule (fake)' }) } });
    }
    send(404, status(404, 'NotFound', `the fake API server does not serve ${req.method} ${url.pathname}`));
  }
}
