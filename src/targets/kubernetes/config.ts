/** `targets.<name>` of `type: kubernetes`: where the cluster is and what the generated chart holds. */
import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';
import { describedDuration, targetDuration } from '../shared/config-fields.js';
import { decodeBase64, summarizeKubeconfig } from './kubeconfig-text.js';
import { isDnsLabel, isDnsSubdomain, isIngressHost, isQuantity, toDnsLabel } from './k8s-names.js';

const K = DEFAULTS.kubernetes;
const QUANTITY_HINT = 'a Kubernetes quantity: CPU as "250m" or "0.5", memory and storage as "512Mi" or "1Gi" (binary suffixes Ki, Mi, Gi, Ti; decimal k, M, G, T)';

const label = (what: string) =>
  z.string().refine(isDnsLabel, {
    error: (iss) => `${what} ${JSON.stringify(iss.input)} is not a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit`,
    params: { hint: 'e.g. "my-app"' },
  });
const labelWithHint = (what: string) =>
  z.string().superRefine((v, ctx) => {
    if (isDnsLabel(v)) return;
    const near = toDnsLabel(v);
    ctx.addIssue({ code: 'custom', input: v, message: `${what} ${JSON.stringify(v)} is not a DNS-1123 label: at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit`, params: { hint: near ? `did you mean "${near}"?` : 'e.g. "my-app"' } });
  });
const subdomain = (what: string) =>
  z.string().superRefine((v, ctx) => {
    if (isDnsSubdomain(v)) return;
    ctx.addIssue({ code: 'custom', input: v, message: `${what} ${JSON.stringify(v)} is not a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", each part starting and ending with a letter or digit`, params: { hint: `e.g. "${toDnsLabel(v) || 'my-tls'}"` } });
  });
const quantity = (what: string) =>
  z.union([z.string(), z.number()]).transform((v, ctx) => {
    const s = String(v).trim();
    if (!isQuantity(s)) {
      ctx.issues.push({ code: 'custom', input: v, message: `invalid ${what} ${JSON.stringify(v)}: not a Kubernetes quantity`, params: { hint: QUANTITY_HINT } });
      return z.NEVER;
    }
    return s;
  });

/** Where the kubeconfig comes from: a file, or its content in base64 (as CI secrets carry it). */
const Kubeconfig = z
  .union([z.string().min(1).transform((path) => ({ path })), z.object({ path: z.string().min(1) }).strict(), z.object({ base64: z.string().min(1) }).strict()], {
    error: 'kubeconfig is a file path ("~/.kube/config"), { path: FILE } or { base64: CONTENT }',
  })
  .superRefine((k, ctx) => {
    if (!('base64' in k)) return;
    const text = decodeBase64(k.base64);
    const problem = text === undefined ? 'it is not base64' : summarizeKubeconfig(text);
    if (typeof problem === 'string') ctx.addIssue({ code: 'custom', input: '(kubeconfig content)', path: ['base64'], message: `the kubeconfig in kubeconfig.base64 does not parse: ${problem}`, params: { hint: 'encode a working kubeconfig with `base64 -w0 ~/.kube/config` (check it first with `kubectl --kubeconfig FILE get ns`)' } });
  })
  .describe('The cluster\'s kubeconfig: a file path, { path }, or { base64 } content. Default: $KUBECONFIG or ~/.kube/config.');
export type KubeconfigSource = { path: string } | { base64: string };

const Resources = z
  .object({
    cpu: quantity('cpu').optional().describe('CPU requested per pod, e.g. "250m".'),
    memory: quantity('memory').optional().describe('Memory requested per pod, e.g. "256Mi"; also its limit unless limits.memory is set.'),
    limits: z.object({ cpu: quantity('limits.cpu').optional(), memory: quantity('limits.memory').optional() }).strict().optional(),
  })
  .strict();

const Ingress = z
  .object({
    host: z.string().superRefine((v, ctx) => {
      if (!isIngressHost(v)) ctx.addIssue({ code: 'custom', input: v, message: `ingress host ${JSON.stringify(v)} is not a DNS name (lowercase, with at least one ".", optionally starting "*.")`, params: { hint: 'e.g. "app.example.com"' } });
    }),
    tls_secret: subdomain('tls_secret').optional().describe('Name of the Secret holding the TLS certificate (kubernetes.io/tls) in the namespace.'),
    class: subdomain('ingress class').optional().describe('IngressClass name, e.g. "nginx" or "traefik".'),
    path: z.string().regex(/^\/[^\s]*$/, { error: 'path starts with "/"' }).default('/'),
  })
  .strict();

const Autoscale = z
  .object({
    min: z.number().int().min(1),
    max: z.number().int().min(1),
    cpu_percent: z.number().int().min(1).max(100).default(K.hpaCpuPercent),
  })
  .strict()
  .refine((a) => a.max >= a.min, { error: 'autoscale.max must be at least autoscale.min', params: { hint: 'e.g. { min: 2, max: 10 }' } });

const Quota = z
  .object({
    cpu: quantity('quota cpu').optional().describe('Total CPU requests of the namespace.'),
    memory: quantity('quota memory').optional().describe('Total memory requests of the namespace.'),
    pods: z.number().int().min(1).optional(),
    storage: quantity('quota storage').optional(),
    default_cpu: quantity('default_cpu').optional().describe('LimitRange: CPU a container requests when it names none.'),
    default_memory: quantity('default_memory').optional().describe('LimitRange: memory a container requests (and is limited to) when it names none.'),
  })
  .strict()
  .refine((q) => Object.values(q).some((v) => v !== undefined), { error: 'quota names nothing to limit', params: { hint: 'set at least one of cpu, memory, pods, storage' } });

const Prometheus = z
  .object({
    address: z.url({ error: 'address is the Prometheus URL, e.g. "http://prometheus.monitoring:9090"' }),
    query: z.string().min(1).describe('PromQL giving one number for the canary, e.g. its error ratio; `{{release}}` is replaced by the release id.'),
    max: z.number().describe('The canary fails when the query returns more than this.'),
    interval: targetDuration('analysis interval', K.analysisIntervalMs),
  })
  .strict();

export const kubernetesConfigSchema = z
  .object({
    kubeconfig: Kubeconfig.optional(),
    context: z.string().min(1).optional().describe('kubeconfig context to use (default: its current-context).'),
    namespace: labelWithHint('namespace').default(K.namespace),
    release_name: label('release_name').refine((v) => v.length <= 53, { error: 'a helm release name is at most 53 characters' }).optional().describe('Helm release name (default: the app name).'),
    replicas: z.number().int().min(0).max(1000).optional().describe('Pods of the app (default: run.instances).'),
    image: z.string().regex(/^[a-z0-9][^\s@]*(@sha256:[a-f0-9]{64})?$/, { error: 'image is a reference such as "registry.example.com/team/app:1.2"' }).optional().describe('The image the cluster runs, e.g. as `gantry push` of the docker target published it; `${VAR}` interpolation gives it a tag per build.'),
    registry: z.string().regex(/^[a-z0-9][a-z0-9.:_/-]*$/, { error: 'registry is HOST[:PORT]/NAMESPACE, e.g. "registry.example.com/team"' }).optional().describe('Registry and namespace prefixed to an `image` that names none ("shop:1.4" → "<registry>/shop:1.4").'),
    image_pull_secret: subdomain('image_pull_secret').optional(),
    workdir: z.string().regex(/^\/\S*$/, { error: 'workdir is an absolute path' }).default(K.workdir).describe('The app\'s directory in the image; persist paths are mounted under it.'),
    resources: Resources.optional(),
    ingress: Ingress.optional(),
    service: z.object({ port: z.number().int().min(1).max(65535).default(K.servicePort), type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP') }).strict().prefault({}),
    autoscale: Autoscale.optional().describe('HorizontalPodAutoscaler bounds (default: the manifest\'s autoscale).'),
    quota: Quota.optional().describe('ResourceQuota and LimitRange for the namespace (tenant namespaces).'),
    storage: z.object({ size: quantity('storage size').default(K.storageSize), class: subdomain('storage class').optional() }).strict().prefault({}),
    traffic: z.enum(['replicas', 'gateway-api']).default('replicas').describe('How blue-green and canary split traffic: by replica ratio behind one Service, or by exact weights of a Gateway API HTTPRoute.'),
    gateway: z.object({ name: label('gateway name'), namespace: label('gateway namespace').optional() }).strict().optional().describe('The Gateway an HTTPRoute attaches to (traffic: gateway-api).'),
    engine: z.enum(['deployment', 'argo-rollouts']).default('deployment').describe('What runs blue-green and canary: Deployments driven by Gantry, or an Argo Rollouts Rollout.'),
    analysis: z.object({ prometheus: Prometheus }).strict().optional(),
    timeout: describedDuration('timeout', 'How long helm waits for the release to be ready.', K.helmTimeoutMs),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.traffic === 'gateway-api' && !c.gateway) ctx.addIssue({ code: 'custom', path: ['traffic'], input: c.traffic, message: 'traffic: gateway-api needs the Gateway the HTTPRoute attaches to', params: { hint: 'add gateway: { name: my-gateway, namespace: gateway-system }' } });
  });

export type KubernetesConfig = z.output<typeof kubernetesConfigSchema>;
