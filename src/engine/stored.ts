/**
 * Reading back what the engine stored. The store keeps JSON and knows no engine
 * types; here steps and release manifests are parsed with their schemas, never
 * cast, and a manifest stored before a default existed gets it.
 */
import { z } from 'zod';
import { GantryError } from '../core/errors.js';
import { StoredManifestSchema, type StoredManifest } from '../manifest/index.js';
import type { ReleaseRecord, StepRecord, Store } from '../store/index.js';
import { StepSchema, type Step } from './plan.js';
import type { ReleaseSecrets } from './types.js';

const ReleaseSecretsSchema = z.object({ env: z.string().optional(), versions: z.record(z.string(), z.string()) });

/** A release's manifest as stored, with the names and versions of the secrets it was made with. */
export type ReleaseManifest = StoredManifest & { gantry_secrets?: ReleaseSecrets };

function invalid(what: string, error: z.ZodError): GantryError {
  return new GantryError('INTERNAL', `${what} in the state database does not parse: ${error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`, 'the state was written by an incompatible Gantry version or edited by hand; restore a backup (gantry restore)');
}

export function releaseManifestOf(rel: ReleaseRecord): ReleaseManifest {
  const { gantry_secrets, ...rest } = rel.manifest;
  const m = StoredManifestSchema.safeParse(rest);
  if (!m.success) throw invalid(`the manifest of release ${rel.id}`, m.error);
  const s = gantry_secrets === undefined ? undefined : ReleaseSecretsSchema.safeParse(gantry_secrets);
  if (s && !s.success) throw invalid(`the secrets record of release ${rel.id}`, s.error);
  return { ...m.data, gantry_secrets: s?.data };
}

/** A deployment's stored steps, each with its parsed Step. */
export function storedSteps(store: Store, deploymentId: string): Array<StepRecord & { step: Step }> {
  return store.listSteps(deploymentId).map((r) => {
    const p = StepSchema.safeParse(r.params);
    if (!p.success) throw invalid(`step ${r.idx + 1} (${r.kind}) of deployment ${deploymentId}`, p.error);
    return { ...r, step: p.data };
  });
}
