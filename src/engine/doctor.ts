/** `gantry doctor` for the targets of a manifest: each target checks what its config points at. */
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { open, targetNames } from './open.js';
import type { DoctorCheck } from './target.js';

export async function doctor(engine: EngineContext, loaded: LoadedManifest): Promise<{ types: string[]; checks: DoctorCheck[] }> {
  const checks: DoctorCheck[] = [];
  const types: string[] = [];
  for (const name of targetNames(loaded)) {
    const o = await open(engine, loaded, name);
    try {
      types.push(o.target.type);
      checks.push(...(await o.target.doctor({ stateDir: engine.opts.stateDir, target: o.ctx })));
    } finally {
      await o.runtime.close();
    }
  }
  return { types, checks };
}
