/**
 * Formation as desired state: how many instances a deploy runs.
 *
 * `gantry scale N` records N together with the manifest's `run.instances` at
 * that moment. Deploys keep N while the manifest still says that value; once
 * the manifest's value changes, it wins and the scaled count is forgotten
 * (the deploy that applies it clears the record).
 */
import type { TargetRecord } from '../store/index.js';
import type { Opened } from './types.js';

export interface Formation {
  /** Instances the next deploy runs (0 = the release is recorded and nothing runs). */
  instances: number;
  /** `scale`: a `gantry scale` count still holds; `manifest`: run.instances. */
  source: 'scale' | 'manifest';
}

export function formation(record: Pick<TargetRecord, 'instances' | 'scaledFromManifest'>, manifestInstances: number): Formation {
  if (record.scaledFromManifest !== undefined && record.scaledFromManifest === manifestInstances) return { instances: record.instances, source: 'scale' };
  return { instances: manifestInstances, source: 'manifest' };
}

/** The instance count a deploy (and `gantry plan`) of this manifest runs. */
export function desiredInstances(o: Pick<Opened, 'record' | 'manifest'>): number {
  return formation(o.record, o.manifest.run.instances).instances;
}

/** A scaled count that the manifest has overridden is forgotten once a deploy has applied the manifest's count. */
export function scaleForgotten(o: Pick<Opened, 'record' | 'manifest'>): boolean {
  return o.record.scaledFromManifest !== undefined && formation(o.record, o.manifest.run.instances).source === 'manifest';
}
