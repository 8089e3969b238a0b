/**
 * Run each target's own validate() against a loaded (schema-valid) manifest:
 * what the target needs from the manifest, then its live checks. Problems come
 * back with the manifest's file, line and path, like the schema's.
 */
import { DEFAULTS } from '../core/defaults.js';
import type { Problem } from '../core/errors.js';
import { formatPath, invalidManifestError, type LoadedManifest, type PathSegment } from '../manifest/index.js';
import type { TargetRegistry } from './registry.js';
import type { TargetProblem } from './target.js';

export interface TargetValidation {
  /** The manifest cannot work with a target: validate fails, deploy refuses. */
  errors: Problem[];
  /** About this machine now (an engine that does not answer ...): reported, never blocking. */
  warnings: Problem[];
}

/** Validate every target of the manifest, or only `only`. Unknown types and invalid configs are the schema's to report; they are skipped here. */
export async function validateTargets(registry: TargetRegistry, loaded: LoadedManifest, only?: string, timeoutMs: number = DEFAULTS.targetValidateTimeoutMs): Promise<TargetValidation> {
  const out: TargetValidation = { errors: [], warnings: [] };
  const m = loaded.manifest;
  const names = Object.keys(m.targets).filter((n) => only === undefined || n === only);
  for (const name of names) {
    const { type, ...rawConfig } = m.targets[name] as { type: string } & Record<string, unknown>;
    const target = await registry.load(type);
    const parsed = target?.configSchema.safeParse(rawConfig);
    if (!target || !parsed?.success) continue;
    const ctx = { app: m.app, targetName: name, appDir: loaded.dir, build: m.build, run: m.run, persist: m.persist };
    const found = await withTimeout(target.validate(parsed.data, ctx), timeoutMs).then(
      (r) => r ?? [{ path: [], message: `the checks of target "${name}" (${type}) did not finish within ${timeoutMs} ms`, hint: '`gantry doctor` shows what the target needs on this machine', level: 'warning' as const }],
      (err: unknown) => [{ path: [], message: `the checks of target "${name}" (${type}) failed: ${(err as Error).message}`, hint: '`gantry doctor` shows what the target needs on this machine', level: 'warning' as const }],
    );
    for (const p of found) (p.level === 'warning' ? out.warnings : out.errors).push(toProblem(loaded, name, p));
  }
  return out;
}

/** Deploy's guard: refuse (MANIFEST_INVALID, exit 2) before anything starts when the target's checks find errors. */
export async function assertTargetValid(registry: TargetRegistry, loaded: LoadedManifest, targetName: string): Promise<void> {
  const { errors } = await validateTargets(registry, loaded, targetName);
  if (errors.length) throw invalidManifestError(errors);
}

function toProblem(loaded: LoadedManifest, targetName: string, p: TargetProblem): Problem {
  const path: PathSegment[] = p.scope === 'manifest' ? p.path : ['targets', targetName, ...p.path];
  const pos = loaded.locate(path);
  return { file: loaded.file, line: pos.line, column: pos.column, path: formatPath(path), message: p.message, hint: p.hint };
}

/** The promise's value, or undefined when it takes longer than `ms` (the timer never keeps the process alive). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
