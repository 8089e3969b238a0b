/** Kubernetes' own formats: DNS-1123 names and resource quantities, checked before anything is rendered or applied. */

/** A DNS-1123 label: namespaces, object names, ports' names (at most 63 characters). */
export const DNS1123_LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A DNS-1123 subdomain: Secret and Ingress class names, host names (at most 253 characters). */
export const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A resource quantity as the API server takes it ("500m", "1.5", "512Mi", "1e3"); no sign (resources are never negative). */
export const QUANTITY_RE = /^\+?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

export const isDnsLabel = (s: string): boolean => s.length <= 63 && DNS1123_LABEL_RE.test(s);
export const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN_RE.test(s);
export const isQuantity = (s: string): boolean => QUANTITY_RE.test(s);

/** "My_App" → "my-app": what a name would look like as a DNS-1123 label (for hints). */
export function toDnsLabel(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

/** An ingress host may start with one wildcard label ("*.example.com"). */
export const isIngressHost = (s: string): boolean => isDnsSubdomain(s.startsWith('*.') ? s.slice(2) : s) && s.includes('.');
