/** Opening a target: resolve its name in the manifest, load its type from the registry, validate its config, start its runtime. */
import { GantryError } from '../core/errors.js';
import type { LoadedManifest } from '../manifest/index.js';
import { redactSecrets } from '../core/redact.js';
import type { EngineContext } from './context.js';
import type { TargetContext, TargetRuntime } from './target.js';
import type { Opened } from './types.js';

export function targetNames(loaded: LoadedManifest): string[] {
  return Object.keys(loaded.manifest.targets);
}

export function resolveTargetName(loaded: LoadedManifest, name?: string): string {
  const names = targetNames(loaded);
  if (!name) return names[0]!;
  if (!names.includes(name)) throw new GantryError('TARGET_UNKNOWN', `no target named "${name}" in ${loaded.file}`, `targets defined: ${names.join(', ')}`);
  return name;
}

export async function open(engine: EngineContext, loaded: LoadedManifest, name?: string): Promise<Opened> {
  const targetName = resolveTargetName(loaded, name);
  const { type, ...rawConfig } = loaded.manifest.targets[targetName] as { type: string } & Record<string, unknown>;
  const target = await engine.opts.registry.load(type);
  if (!target) throw new GantryError('TARGET_UNKNOWN', `unknown target type "${type}" for target "${targetName}"`, `known types: ${engine.opts.registry.types().join(', ')}`);
  const parsed = target.configSchema.safeParse(rawConfig);
  if (!parsed.success) throw new GantryError('MANIFEST_INVALID', `targets.${targetName}: ${parsed.error.issues.map((i) => i.message).join('; ')}`, 'run `gantry validate` for details');
  const app = loaded.manifest.app;
  const record = engine.store.ensureTarget(app, targetName, type);
  const ctx: TargetContext<any> = {
    app,
    targetName,
    config: parsed.data,
    appDir: loaded.dir,
    build: loaded.manifest.build,
    stateDir: engine.opts.stateDir,
    settings: record.settings,
    saveSettings: (next) => {
      ctx.settings = next;
      engine.store.updateTarget(app, targetName, { settings: next });
    },
    emit: (level, message, data) => engine.emit({ app, target: targetName }, level, message, undefined, data),
    ...(engine.opts.secrets ? { readSecret: (name) => readTargetSecret(engine, loaded, name) } : {}),
  };
  const runtime = guardRuntime(engine, app, await target.runtime(ctx));
  return { loaded, manifest: loaded.manifest, app, name: targetName, target, ctx, record, runtime };
}

async function readTargetSecret(engine: EngineContext, loaded: LoadedManifest, name: string): Promise<string> {
  const secrets = engine.opts.secrets!;
  const r = await secrets.resolve(loaded.manifest.app, loaded.env, [name]);
  const value = r.values[name];
  if (value === undefined) throw new GantryError('SECRET_MISSING', `the target needs the secret ${name}, not set${loaded.env ? ` for environment ${loaded.env}` : ''}`, secrets.setCommand(name, loaded.env));
  return value;
}

/** Captured output crosses into events, results and the store only redacted: every runtime the engine uses goes through this. */
export function guardRuntime(engine: EngineContext, app: string, runtime: TargetRuntime): TargetRuntime {
  const redactOut = engine.redactFor(app);
  const runTask = runtime.runTask.bind(runtime);
  const probe = runtime.probe.bind(runtime);
  const waitHealthy = runtime.waitHealthy.bind(runtime);
  runtime.runTask = async (task) => {
    const r = await runTask(task);
    return { ...r, output: redactSecrets(redactOut(r.output), task.secretEnv) };
  };
  // A health command's output reaches the probe's detail.
  runtime.probe = async (instance, spec) => {
    const r = await probe(instance, spec);
    return { ...r, detail: redactOut(r.detail) };
  };
  runtime.waitHealthy = async (instance, spec, signal) => {
    const r = await waitHealthy(instance, spec, signal);
    return { ...r, detail: redactOut(r.detail) };
  };
  return runtime;
}
