/** Names and labels of the chart's objects, in one place. */
import { createHash } from 'node:crypto';
import type { ChartInput } from './chart-input.js';
import { toDnsLabel } from './k8s-names.js';

export type Track = 'stable' | 'canary';

export const names = (i: ChartInput) => ({
  workload: i.name,
  canary: `${i.name}-canary`,
  service: i.name,
  /** Blue-green: the track not serving; canary through Gateway API or Argo Rollouts: the canary's Service. */
  preview: `${i.name}-preview`,
  stableService: `${i.name}-stable`,
  canaryService: `${i.name}-canary`,
  env: `${i.name}-env`,
  secrets: `${i.name}-secrets`,
  serviceAccount: i.name,
  quota: `${i.name}-quota`,
  limits: `${i.name}-limits`,
  analysis: `${i.name}-analysis`,
});

/** The PVC of one `persist` path: readable, unique (a short hash), a DNS-1123 label. */
export function claimName(i: ChartInput, path: string): string {
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 6);
  const slug = toDnsLabel(path.replace(/[/.]+/g, '-')).slice(0, 40).replace(/-+$/, '') || 'data';
  return `${i.name.slice(0, 63 - slug.length - 14)}-data-${slug}-${hash}`.replace(/^-+/, '');
}

/** Labels every pod of the app carries; Services and PDBs select on them. */
export const appLabels = (i: ChartInput): Record<string, string> => ({ 'app.kubernetes.io/name': i.app, 'app.kubernetes.io/instance': i.name });
export const trackLabels = (i: ChartInput, track: Track): Record<string, string> => ({ ...appLabels(i), 'gantry.dev/track': track });
export const TRACK_LABEL = 'gantry.dev/track';

export const meta = (i: ChartInput, name: string, extra: Record<string, string> = {}) => ({
  name,
  namespace: i.config.namespace,
  labels: { ...appLabels(i), 'app.kubernetes.io/managed-by': 'Helm', 'gantry.dev/release': i.release, ...extra },
});
