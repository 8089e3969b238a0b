/**
 * How traffic reaches the pods: the app's Service (its selector splits traffic
 * by replica ratio, or picks the active blue-green track), per-track Services
 * for weighted routing, an Ingress, or a Gateway API HTTPRoute with exact weights.
 */
import type { ChartInput } from './chart-input.js';
import { twoTracks, usesRollout } from './chart-input.js';
import { appLabels, meta, names, TRACK_LABEL, trackLabels } from './object-names.js';
import { valueRef } from './values-ref.js';

type Obj = Record<string, unknown>;

function service(i: ChartInput, name: string, selector: Record<string, string>, type: string = 'ClusterIP'): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(i, name),
    spec: { type, selector, ports: [{ name: 'http', port: i.config.service.port, targetPort: 'http', protocol: 'TCP' }] },
  };
}

/** Blue-green behind one Service (traffic: replicas): the Service follows the active track. */
const switchesBySelector = (i: ChartInput): boolean => twoTracks(i) && i.strategy.type === 'blue-green' && i.config.traffic === 'replicas';
const weighted = (i: ChartInput): boolean => i.config.traffic === 'gateway-api' && (twoTracks(i) || (usesRollout(i) && i.strategy.type === 'canary'));

export function services(i: ChartInput): Obj[] {
  const n = names(i);
  const out: Obj[] = [];
  if (switchesBySelector(i)) {
    out.push(service(i, n.service, { ...appLabels(i), [TRACK_LABEL]: valueRef('active') }, i.config.service.type));
    out.push(service(i, n.preview, { ...appLabels(i), [TRACK_LABEL]: valueRef('inactive') }));
    return out;
  }
  out.push(service(i, n.service, appLabels(i), i.config.service.type));
  if (usesRollout(i) && i.strategy.type === 'blue-green') out.push(service(i, n.preview, appLabels(i)));
  if (usesRollout(i) && i.strategy.type === 'canary') out.push(service(i, n.stableService, appLabels(i)), service(i, n.canaryService, appLabels(i)));
  else if (weighted(i)) out.push(service(i, n.stableService, trackLabels(i, 'stable')), service(i, n.canaryService, trackLabels(i, 'canary')));
  return out;
}

export function ingress(i: ChartInput): Obj[] {
  const ing = i.config.ingress;
  if (!ing || i.config.traffic === 'gateway-api') return [];
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(i, names(i).service),
      spec: {
        ...(ing.class ? { ingressClassName: ing.class } : {}),
        ...(ing.tls_secret ? { tls: [{ hosts: [ing.host], secretName: ing.tls_secret }] } : {}),
        rules: [{ host: ing.host, http: { paths: [{ path: ing.path, pathType: 'Prefix', backend: { service: { name: names(i).service, port: { name: 'http' } } } }] } }],
      },
    },
  ];
}

/** traffic: gateway-api: an HTTPRoute on the configured Gateway; weights are chart values Gantry (or Argo) moves. */
export function httpRoute(i: ChartInput): Obj[] {
  if (i.config.traffic !== 'gateway-api' || !i.config.gateway) return [];
  const n = names(i);
  const port = i.config.service.port;
  const backendRefs = weighted(i)
    ? [
        { name: n.stableService, port, weight: valueRef<number>('weights.stable') },
        { name: n.canaryService, port, weight: valueRef<number>('weights.canary') },
      ]
    : [{ name: n.service, port }];
  return [
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta(i, n.service),
      spec: {
        parentRefs: [{ name: i.config.gateway.name, ...(i.config.gateway.namespace ? { namespace: i.config.gateway.namespace } : {}) }],
        ...(i.config.ingress ? { hostnames: [i.config.ingress.host] } : {}),
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: i.config.ingress?.path ?? '/' } }], backendRefs }],
      },
    },
  ];
}
