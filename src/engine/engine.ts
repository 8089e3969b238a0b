import { createHash } from 'node:crypto';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError, isGantryError } from '../core/errors.js';
import type { LoadedManifest, Manifest } from '../manifest/index.js';
import type { DeploymentRecord, ReleaseRecord, Store } from '../store/index.js';
import type { AnalysisVerdict } from './analysis.js';
import { analyzeCanary, CanaryFailedError, watchAfterSwitch } from './gates.js';
import type { AutoscaleState, DeployResult, DeployStatus, EngineEventLevel, EngineOptions, InstanceStatus, Opened, PlanResult, ReconcileReport, ReleaseInfo, ReleaseSecrets, RunnableRelease, TargetStatus } from './types.js';
import { newDeploymentId, redact, releaseManifest, stringEnv, toGantryError } from './util.js';
import { cpuPercentBetween, decideScale, type LoadSample, type ScaleDecision } from './autoscale.js';
import { executeSteps, HealthGateError, type ExecutionContext } from './executor.js';
import { probe, resolveHealth, waitHealthy } from './health.js';
import { acquireLock } from './lock.js';
import { pidAlive } from '../core/pid.js';
import { redactDeep, redactSecrets } from '../core/redact.js';
import { secretsDir } from '../secrets/paths.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { planRollout, type Step } from './plan.js';
import { newInstanceId, newReleaseId } from './release-id.js';
import { hashSource } from './source.js';
import type { Artifact, InstanceHandle, ObservedInstance, ReleaseRef, Route, TargetContext } from './target.js';

export class Engine {
  constructor(private readonly opts: EngineOptions) {}

  /** Every secret value this engine has decrypted, per app (value → NAME): redacted from captured output and events. */
  private readonly secretValues = new Map<string, Map<string, string>>();

  private rememberSecrets(app: string, values: Record<string, string>): void {
    const known = this.secretValues.get(app) ?? new Map<string, string>();
    for (const [name, value] of Object.entries(values)) known.set(value, name);
    this.secretValues.set(app, known);
  }

  /** Hook, build and health-command output of `app` with its secret values replaced by `[redacted:NAME]`. */
  private redactFor(app: string): (text: string) => string {
    return (text) => redactSecrets(text, [...(this.secretValues.get(app) ?? [])].map(([value, name]) => [name, value] as const));
  }

  private get store(): Store {
    return this.opts.store;
  }

  // ---- opening a target ---------------------------------------------------

  targetNames(loaded: LoadedManifest): string[] {
    return Object.keys(loaded.manifest.targets);
  }

  private resolveTargetName(loaded: LoadedManifest, name?: string): string {
    const names = this.targetNames(loaded);
    if (!name) return names[0]!;
    if (!names.includes(name)) throw new GantryError('TARGET_UNKNOWN', `no target named "${name}" in ${loaded.file}`, `targets defined: ${names.join(', ')}`);
    return name;
  }

  private async open(loaded: LoadedManifest, name?: string): Promise<Opened> {
    const targetName = this.resolveTargetName(loaded, name);
    const { type, ...rawConfig } = loaded.manifest.targets[targetName] as { type: string } & Record<string, unknown>;
    const target = await this.opts.registry.load(type);
    if (!target) throw new GantryError('TARGET_UNKNOWN', `unknown target type "${type}" for target "${targetName}"`, `known types: ${this.opts.registry.types().join(', ')}`);
    const parsed = target.configSchema.safeParse(rawConfig);
    if (!parsed.success) throw new GantryError('MANIFEST_INVALID', `targets.${targetName}: ${parsed.error.issues.map((i) => i.message).join('; ')}`, 'run `gantry validate` for details');
    const app = loaded.manifest.app;
    const record = this.store.ensureTarget(app, targetName, type);
    const ctx: TargetContext<any> = {
      app,
      targetName,
      config: parsed.data,
      appDir: loaded.dir,
      stateDir: this.opts.stateDir,
      settings: record.settings,
      saveSettings: (next) => {
        ctx.settings = next;
        this.store.updateTarget(app, targetName, { settings: next });
      },
      emit: (level, message, data) => this.emit({ app, target: targetName }, level, message, undefined, data),
    };
    const runtime = await target.runtime(ctx);
    // Captured output crosses into events, results and the store only redacted.
    const redactOut = this.redactFor(app);
    const runTask = runtime.runTask.bind(runtime);
    const healthCommand = runtime.healthCommand.bind(runtime);
    runtime.runTask = async (task) => {
      const r = await runTask(task);
      return { ...r, output: redactSecrets(redactOut(r.output), task.secretEnv) };
    };
    runtime.healthCommand = async (instance, command, timeoutMs) => {
      const r = await healthCommand(instance, command, timeoutMs);
      return { ...r, output: redactOut(r.output) };
    };
    return { loaded, manifest: loaded.manifest, app, name: targetName, target, ctx, record, runtime };
  }

  private emit(where: { app: string; target: string; deploymentId?: string }, level: EngineEventLevel, rawMessage: string, step?: string, rawData?: unknown): void {
    const known = [...(this.secretValues.get(where.app) ?? [])].map(([value, name]) => [name, value] as const);
    const message = redactSecrets(rawMessage, known);
    const data = redactDeep(rawData, known);
    const e = this.store.insertEvent({ app: where.app, target: where.target, deploymentId: where.deploymentId, level, message, step, data });
    this.opts.onEvent?.({ at: e.at, level, app: where.app, target: where.target, deploymentId: where.deploymentId, step, message, data });
  }

  // ---- releases -----------------------------------------------------------

  /** What makes a release: the code and the resolved manifest (never secret values). */
  private contentHash(o: Opened, secrets: ReleaseSecrets): string {
    const source = hashSource(o.loaded.dir, [this.opts.stateDir]);
    return createHash('sha256').update(source).update(JSON.stringify(releaseManifest(o.manifest))).update(JSON.stringify(secrets)).digest('hex');
  }

  private async releaseRef(rel: ReleaseRecord): Promise<RunnableRelease> {
    const m = rel.manifest as unknown as Manifest & { gantry_secrets?: ReleaseSecrets };
    const sec = m.gantry_secrets;
    let secretEnv: Record<string, string> = {};
    if (sec && Object.keys(sec.versions).length) {
      if (!this.opts.secrets) throw new GantryError('SECRET_MISSING', `release ${rel.id} needs secrets but no secret store is configured`);
      secretEnv = await this.opts.secrets.atVersions(rel.app, sec.env, sec.versions);
      this.rememberSecrets(rel.app, secretEnv);
    }
    return { id: rel.id, artifact: rel.artifact as Artifact, run: { command: m.run?.command, port: m.run?.port ?? DEFAULTS.run.port }, health: resolveHealth(m.health), persist: m.persist ?? [], env: stringEnv(m.env), secretEnv };
  }

  /** The declared secrets, resolved now; a missing one stops the deploy before anything changes (exit 2) with the exact command to set it. */
  private async currentSecrets(o: Opened): Promise<ReleaseSecrets> {
    const names = o.manifest.secrets ?? [];
    if (names.length === 0) return { env: o.loaded.env, versions: {} };
    if (!this.opts.secrets) throw new GantryError('SECRET_MISSING', `${o.app} declares secrets but no secret store is available`, 'run gantry from the CLI, which opens .gantry/secrets');
    const r = await this.opts.secrets.resolve(o.app, o.loaded.env, names);
    this.rememberSecrets(o.app, r.values);
    if (r.missing.length) {
      throw new GantryError('SECRET_MISSING', `${o.app} needs secret${r.missing.length > 1 ? 's' : ''} ${r.missing.join(', ')}, not set${o.loaded.env ? ` for environment ${o.loaded.env}` : ''}`, r.missing.map((n) => this.opts.secrets!.setCommand(n, o.loaded.env)).join(' ; '), { missing: r.missing });
    }
    return { env: o.loaded.env, versions: r.versions };
  }

  private appEnv(o: Opened, rel: ReleaseRef & { env: Record<string, string> }, instance: string): Record<string, string> {
    return { ...rel.env, GANTRY_APP: o.app, GANTRY_TARGET: o.name, GANTRY_RELEASE: rel.id, GANTRY_INSTANCE: instance };
  }

  // ---- deploy / rollback / restart -----------------------------------------

  async plan(loaded: LoadedManifest, targetName?: string): Promise<PlanResult> {
    const o = await this.open(loaded, targetName);
    try {
      let missingSecrets: string[] = [];
      let secrets: ReleaseSecrets = { env: loaded.env, versions: {} };
      try {
        secrets = await this.currentSecrets(o);
      } catch (err) {
        if (!(isGantryError(err) && err.code === 'SECRET_MISSING')) throw err;
        missingSecrets = ((err.details as { missing?: string[] }) ?? {}).missing ?? [];
      }
      const hash = this.contentHash(o, secrets);
      const current = o.record.currentRelease ? this.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
      const release = current && current.contentHash === hash ? current.id : newReleaseId(hash);
      const routed = await o.runtime.routes();
      const count = o.manifest.run.instances;
      const steps: Step[] = [{ kind: 'build', release }, ...this.rolloutSteps(o, release, count, routed), { kind: 'record', release }];
      let build: Record<string, unknown> | undefined;
      try {
        build = o.target.describeBuild?.({ releaseId: release, sourceDir: o.loaded.dir, build: o.manifest.build, run: o.manifest.run, env: stringEnv(o.manifest.env) }, o.ctx);
      } catch (err) {
        build = { problem: (err as Error).message };
      }
      const unchanged = release === current?.id && o.record.desiredState === 'running';
      return {
        app: o.app,
        target: o.name,
        release,
        new_release: release !== current?.id,
        nothing_to_do: unchanged,
        strategy: o.manifest.exclusive ? 'exclusive (stop-then-start)' : o.manifest.strategy.type,
        instances: count,
        start: unchanged ? [] : steps.filter((s) => s.kind === 'startInstance').map((s) => (s as Extract<Step, { kind: 'startInstance' }>).instance),
        stop: unchanged ? [] : routed.map((r) => r.instance),
        missing_secrets: missingSecrets,
        persist: o.manifest.persist ?? [],
        url: await o.runtime.accessUrl(),
        build,
        steps: unchanged ? [] : steps,
      };
    } finally {
      await o.runtime.close();
    }
  }

  private rolloutSteps(o: Opened, release: string, count: number, routed: Array<{ instance: string; release: string }>): Step[] {
    const s = o.manifest.strategy;
    return planRollout({
      release,
      newInstances: Array.from({ length: count }, (_, i) => newInstanceId(release, i)),
      old: routed.map((r) => ({ instance: r.instance, release: r.release })),
      strategy: { type: s.type, maxSurge: s.max_surge, maxUnavailable: s.max_unavailable, steps: s.steps, pause: s.pause, keepPreviousMs: s.keep_previous, watchMs: s.watch },
      exclusive: o.manifest.exclusive ?? false,
    });
  }

  async deploy(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean; force?: boolean } = {}): Promise<DeployResult> {
    return this.withTarget(loaded, targetName, 'deploy', opts.wait ?? false, async (o, reconciled) => {
      const secrets = await this.currentSecrets(o);
      const hash = this.contentHash(o, secrets);
      const current = o.record.currentRelease ? this.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
      const serving = (await o.runtime.routes()).some((r) => r.release === current?.id);
      if (!opts.force && current && current.contentHash === hash && o.record.desiredState === 'running' && serving) {
        this.emit({ app: o.app, target: o.name }, 'info', `nothing to deploy: release ${current.id} already has this code, manifest, env and secrets (--force redeploys)`, 'plan');
        return { id: '', app: o.app, target: o.name, kind: 'deploy', release: current.id, status: 'succeeded', unchanged: true, url: await o.runtime.accessUrl(), duration_ms: 0, reason: 'nothing to deploy', reconciled: reconciled.length ? reconciled : undefined };
      }
      const releaseId = newReleaseId(hash);
      if (o.manifest.backup?.before_deploy && current) {
        await this.backupOpened(o, { reason: 'before deploy' });
        const { pruneBackups } = await import('../backup/index.js');
        const removed = await pruneBackups(this.backupsDir(), o.manifest.backup.keep ?? DEFAULTS.backupsKept, { app: o.app, target: o.name });
        if (removed.length) this.emit({ app: o.app, target: o.name }, 'info', `pruned ${removed.length} old backup(s)`, 'backup');
      }
      return this.rollout(o, {
        kind: 'deploy',
        releaseId,
        count: o.manifest.run.instances,
        reconciled,
        build: async () => {
          const artifact = await o.target.build({ releaseId, sourceDir: o.loaded.dir, build: o.manifest.build, run: o.manifest.run, env: stringEnv(o.manifest.env), persist: o.manifest.persist }, o.ctx).catch((err: unknown) => {
            // A failed build's message carries its output's tail.
            if (err instanceof Error) err.message = this.redactFor(o.app)(err.message);
            throw err;
          });
          return this.store.insertRelease({ id: releaseId, app: o.app, target: o.name, contentHash: hash, artifact, manifest: { ...releaseManifest(o.manifest), gantry_secrets: secrets }, status: 'built' });
        },
      });
    });
  }

  async rollback(loaded: LoadedManifest, targetName: string | undefined, releaseId: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
    return this.withTarget(loaded, targetName, 'rollback', opts.wait ?? false, async (o, reconciled) => {
      const rel = releaseId ? this.store.getRelease(o.app, o.name, releaseId) : this.lastKnownGood(o);
      if (!rel || rel.deleted) {
        throw new GantryError('RELEASE_NOT_FOUND', releaseId ? `release ${releaseId} is not kept for ${o.app} on ${o.name}` : `there is no earlier known-good release of ${o.app} on ${o.name} to roll back to`, 'list the kept releases with `gantry releases`');
      }
      return this.rollout(o, { kind: 'rollback', releaseId: rel.id, count: o.record.instances, reconciled, existing: rel });
    });
  }

  async restart(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
    return this.withTarget(loaded, targetName, 'restart', opts.wait ?? false, async (o, reconciled) => {
      const rel = this.currentRelease(o);
      // A restart replaces every instance with a fresh one of the same release, health-gated like a deploy.
      return this.rollout(o, { kind: 'restart', releaseId: rel.id, count: o.record.instances, reconciled, existing: rel });
    });
  }

  async start(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
    return this.withTarget(loaded, targetName, 'start', opts.wait ?? false, async (o, reconciled) => {
      const rel = this.currentRelease(o);
      const started = Date.now();
      const d = this.store.insertDeployment({ id: newDeploymentId(), app: o.app, target: o.name, targetType: o.target.type, kind: 'start', actor: this.opts.actor, release: rel.id, previousRelease: rel.id });
      this.store.updateTarget(o.app, o.name, { desiredState: 'running' });
      try {
        await this.ensureServing(o, rel, o.record.instances, d.id);
        const url = await o.runtime.accessUrl();
        this.store.updateDeployment(d.id, { status: 'succeeded', accessUrl: url });
        return { id: d.id, app: o.app, target: o.name, kind: 'start', release: rel.id, status: 'succeeded', url, duration_ms: Date.now() - started, reconciled };
      } catch (err) {
        const e = toGantryError(err);
        this.store.updateDeployment(d.id, { status: 'failed', reason: e.message });
        return { id: d.id, app: o.app, target: o.name, kind: 'start', release: rel.id, status: 'failed', duration_ms: Date.now() - started, reason: e.message, error: e.toJSON(), logs: err instanceof HealthGateError ? err.logTail : undefined };
      }
    });
  }

  async stop(loaded: LoadedManifest, targetName: string | undefined, opts: { wait?: boolean } = {}): Promise<DeployResult> {
    return this.withTarget(loaded, targetName, 'stop', opts.wait ?? false, async (o, reconciled) => {
      const started = Date.now();
      const d = this.store.insertDeployment({ id: newDeploymentId(), app: o.app, target: o.name, targetType: o.target.type, kind: 'stop', actor: this.opts.actor, release: o.record.currentRelease });
      this.store.updateTarget(o.app, o.name, { desiredState: 'stopped' });
      this.emit({ app: o.app, target: o.name, deploymentId: d.id }, 'info', 'stopping all instances and the proxy');
      await o.runtime.shutdown(o.manifest.strategy.stop_timeout ?? DEFAULTS.strategy.stopTimeoutMs);
      this.store.updateDeployment(d.id, { status: 'succeeded' });
      return { id: d.id, app: o.app, target: o.name, kind: 'stop', release: o.record.currentRelease, status: 'succeeded', duration_ms: Date.now() - started, reconciled };
    });
  }

  private currentRelease(o: Opened): ReleaseRecord {
    const rel = o.record.currentRelease ? this.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
    if (!rel) throw new GantryError('NOT_DEPLOYED', `${o.app} has not been deployed to ${o.name} yet`, 'run `gantry deploy` first');
    return rel;
  }

  /** The most recent release other than the current one that served healthily. */
  private lastKnownGood(o: Opened): ReleaseRecord | undefined {
    return this.store.listReleases(o.app, o.name).find((r) => r.id !== o.record.currentRelease && r.lastGoodAt);
  }

  /** Lock, reconcile interrupted work, run, unlock. */
  private async withTarget<T>(loaded: LoadedManifest, targetName: string | undefined, command: string, wait: boolean, fn: (o: Opened, reconciled: ReconcileReport[]) => Promise<T>): Promise<T> {
    const o = await this.open(loaded, targetName);
    const unlock = await acquireLock(this.store, o.app, o.name, {
      command,
      wait,
      onWait: (h) => this.emit({ app: o.app, target: o.name }, 'info', `waiting for the deploy lock held by ${h.holder} since ${h.acquiredAt}`, 'lock'),
      onStale: (s) => this.emit({ app: o.app, target: o.name }, 'warn', `took over a stale lock of ${s.holder} (process gone)`, 'lock'),
    });
    try {
      o.record = this.store.getTarget(o.app, o.name)!;
      const reconciled = await this.reconcileLocked(o);
      o.record = this.store.getTarget(o.app, o.name)!;
      return await fn(o, reconciled);
    } finally {
      unlock();
      await o.runtime.close();
    }
  }

  private async rollout(
    o: Opened,
    spec: { kind: DeploymentRecord['kind']; releaseId: string; count: number; reconciled: ReconcileReport[]; build?: () => Promise<ReleaseRecord>; existing?: ReleaseRecord },
  ): Promise<DeployResult> {
    const started = Date.now();
    const previous = o.record.currentRelease;
    const d = this.store.insertDeployment({
      id: newDeploymentId(),
      app: o.app,
      target: o.name,
      targetType: o.target.type,
      kind: spec.kind,
      actor: this.opts.actor,
      release: spec.releaseId,
      previousRelease: previous,
      platformConfig: redact(o.ctx.config),
    });
    const where = { app: o.app, target: o.name, deploymentId: d.id };
    const emit = (level: EngineEventLevel, message: string, step?: string, data?: unknown): void => this.emit(where, level, message, step, data);
    const health = resolveHealth(o.manifest.health);
    const finish = (status: DeployStatus, extra: Partial<DeployResult> = {}): DeployResult => {
      const result: DeployResult = { id: d.id, app: o.app, target: o.name, kind: spec.kind, release: spec.releaseId, previous_release: previous, status, duration_ms: Date.now() - started, reconciled: spec.reconciled.length ? spec.reconciled : undefined, ...extra };
      this.store.updateDeployment(d.id, { status, reason: result.reason, accessUrl: result.url, waiting: undefined });
      this.store.audit(this.opts.actor, spec.kind, o.app, o.name, { deployment: d.id, release: spec.releaseId, status });
      emit(status === 'succeeded' ? 'info' : 'error', `${spec.kind} ${status}${result.reason ? `: ${result.reason}` : ''}`, 'result', { status });
      return result;
    };

    let url: string | undefined;
    let release = spec.existing;
    const analyses: AnalysisVerdict[] = [];
    let routedBefore: Route[] = [];
    try {
      url = (await o.runtime.ensureRouter()).url;
      this.store.updateDeployment(d.id, { accessUrl: url });
      const routed = await o.runtime.routes();
      routedBefore = routed;
      const rollout = this.rolloutSteps(o, spec.releaseId, spec.count, routed);
      const hooks = spec.kind === 'deploy' ? o.manifest.hooks : undefined;
      const steps: Step[] = [
        ...(spec.build ? [{ kind: 'build', release: spec.releaseId } as Step] : []),
        ...(hooks?.pre_deploy ? [{ kind: 'hook', name: 'pre_deploy' } as Step] : []),
        ...rollout,
        { kind: 'record', release: spec.releaseId },
        ...(hooks?.post_deploy ? [{ kind: 'hook', name: 'post_deploy' } as Step] : []),
      ];
      this.store.insertSteps(d.id, steps.map((s) => ({ kind: s.kind, params: s })));
      this.store.updateDeployment(d.id, { plan: steps });
      emit('info', `${spec.kind} ${o.app} release ${spec.releaseId} to ${o.name} (${o.target.type}, ${o.manifest.exclusive ? 'exclusive' : o.manifest.strategy.type}, ${spec.count} instance${spec.count === 1 ? '' : 's'})`, 'plan', { steps: steps.length });
      if (o.manifest.exclusive) emit('info', 'exclusive: the old release stops (after draining) before the new one starts; new requests are held meanwhile', 'plan');

      const releases = new Map<string, RunnableRelease>();
      if (release) releases.set(release.id, await this.releaseRef(release));
      const exec: ExecutionContext = {
        store: this.store,
        deploymentId: d.id,
        runtime: o.runtime,
        releases,
        appEnv: (rel, inst) => this.appEnv(o, releases.get(rel)!, inst),
        health,
        drainTimeoutMs: o.manifest.strategy.drain_timeout ?? DEFAULTS.strategy.drainTimeoutMs,
        stopTimeoutMs: o.manifest.strategy.stop_timeout ?? DEFAULTS.strategy.stopTimeoutMs,
        emit,
        onWait: (what) => {
          this.store.updateDeployment(d.id, { waiting: what });
          if (what) emit('info', `waiting for ${what}`, 'wait');
        },
        custom: {
          build: async () => {
            release = await spec.build!();
            releases.set(release.id, await this.releaseRef(release));
            this.store.updateDeployment(d.id, { externalId: release.artifact.ref as string });
          },
          hook: async (step) => {
            const name = (step as Extract<Step, { kind: 'hook' }>).name;
            const rel = releases.get(spec.releaseId)!;
            const r = await o.runtime
              .runTask({ release: rel, command: o.manifest.hooks![name]!, env: this.appEnv(o, rel, `hook-${name}`), secretEnv: rel.secretEnv, timeoutMs: DEFAULTS.hookTimeoutMs })
              .catch((err: unknown) => {
                // After the switch a broken post_deploy is a warning, never a rollback of a healthy release.
                if (name === 'post_deploy') return { exitCode: -1, output: `could not run: ${(err as Error).message}` };
                throw err;
              });
            for (const line of r.output.split('\n').filter(Boolean).slice(-DEFAULTS.hookOutputLines)) emit(r.exitCode === 0 ? 'info' : 'warn', `${name}: ${line}`, 'hook');
            if (r.exitCode === 0) return;
            if (name === 'pre_deploy') throw new GantryError('HOOK_FAILED', `hooks.pre_deploy exited with code ${r.exitCode}; no traffic was moved`, 'its output is in the events above (gantry events); fix the hook or the release and deploy again');
            emit('warn', `hooks.post_deploy exited with code ${r.exitCode}; the release is deployed and stays`, 'hook');
          },
          watch: async (step) => watchAfterSwitch(this.store, o, d.id, step as Extract<Step, { kind: 'watch' }>, health, emit),
          analyze: async (step) => {
            analyses.push(await analyzeCanary(this.store, o, d.id, step as Extract<Step, { kind: 'analyze' }>, previous, emit));
          },
          record: async () => {
            this.store.updateTarget(o.app, o.name, { currentRelease: spec.releaseId, desiredState: 'running', instances: spec.count });
            if (previous && previous !== spec.releaseId) this.store.setReleaseStatus(o.app, o.name, previous, 'superseded');
            this.store.setReleaseStatus(o.app, o.name, spec.releaseId, 'active', true);
            await o.runtime.markCurrent(releases.get(spec.releaseId)!);
          },
        },
      };
      await executeSteps(exec, steps);
      await this.prune(o, emit);
      return finish('succeeded', { url, analysis: analyses.length ? analyses : undefined });
    } catch (err) {
      const e = toGantryError(err);
      emit('error', e.message, 'error', e.toJSON());
      if (release && spec.kind === 'deploy') this.store.setReleaseStatus(o.app, o.name, release.id, 'failed');
      const restored = await this.restoreAfterFailure(o, previous, spec.releaseId, d.id, routedBefore).catch((re: unknown) => {
        emit('error', `could not restore the previous release: ${(re as Error).message}`, 'rollback');
        return false;
      });
      const logs = err instanceof HealthGateError ? err.logTail : undefined;
      if (err instanceof CanaryFailedError) analyses.push(err.verdict);
      const reason = `${e.message}${restored ? `; release ${previous} keeps serving` : ''}`;
      return finish(restored ? 'rolled_back' : 'failed', { url, reason, error: e.toJSON(), logs, analysis: analyses.length ? analyses : undefined });
    }
  }

  /** Signal a running canary deploy (promote or abort) and wait until it acts on it. */
  async signal(loaded: LoadedManifest, targetName: string | undefined, what: 'promote' | 'abort'): Promise<{ deployment: string; signal: string; status: string; release?: string; acted: boolean }> {
    const name = this.resolveTargetName(loaded, targetName);
    const app = loaded.manifest.app;
    const d = this.store.unfinishedDeployments(app, name).find((x) => this.store.listSteps(x.id).some((s) => s.kind === 'analyze' && s.status === 'running'));
    if (!d) throw new GantryError('NOT_PAUSED', `no canary of ${app} on ${name} is waiting at an analysis step`, 'start one with `gantry deploy` (strategy.type: canary); `gantry status` shows what a deploy waits for');
    const paused = this.store.listSteps(d.id).find((s) => s.kind === 'analyze' && s.status === 'running')!;
    const stepAt = paused.idx;
    if (what === 'promote' && (paused.params as { pause?: unknown }).pause !== 'manual') throw new GantryError('NOT_PAUSED', `the canary of ${app} is in a timed analysis step, not waiting for a promote`, 'it moves on by itself when its figures pass; `gantry abort` stops it');
    const holder = this.store.getLock(app, name);
    if (!holder || !pidAlive(holder.pid)) throw new GantryError('NOT_PAUSED', `the deploy ${d.id} that paused this canary is no longer running`, 'run `gantry status`: it reconciles the interrupted deployment');
    this.store.updateDeployment(d.id, { control: what });
    this.store.audit(this.opts.actor, what, app, name, { deployment: d.id });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const cur = this.store.getDeployment(d.id)!;
      const step = this.store.listSteps(d.id)[stepAt]!;
      const acted = what === 'promote' ? step.status !== 'running' : cur.status !== 'running';
      if (acted || Date.now() > deadline) return { deployment: d.id, signal: what, status: cur.status, release: cur.release, acted };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * After a failed rollout: the previous release serves again with its full
   * instance count and every instance of the failed release is stopped.
   */
  private async restoreAfterFailure(o: Opened, previous: string | undefined, failed: string, deploymentId: string, routedBefore: Route[]): Promise<boolean> {
    const prev = previous ? this.store.getRelease(o.app, o.name, previous) : undefined;
    if (o.record.desiredState === 'stopped') {
      // The app was stopped before this attempt: it stays stopped.
      await o.runtime.shutdown(DEFAULTS.strategy.stopTimeoutMs);
      return false;
    }
    if (prev && previous !== failed) {
      await this.ensureServing(o, prev, o.record.instances, deploymentId);
      return true;
    }
    // Same release (restart, rollback to the current one): put back the instances that served before, if they still run.
    const running = new Set((await o.runtime.instances()).filter((i) => i.state === 'running').map((i) => i.id));
    if (routedBefore.length && routedBefore.every((r) => running.has(r.instance))) {
      await o.runtime.setRoutes(routedBefore);
      const keep = new Set(routedBefore.map((r) => r.instance));
      const others = [...running].filter((id) => !keep.has(id));
      await o.runtime.drain(others, o.manifest.strategy.drain_timeout ?? DEFAULTS.strategy.drainTimeoutMs);
      for (const id of others) await o.runtime.stopInstance(id, o.manifest.strategy.stop_timeout ?? DEFAULTS.strategy.stopTimeoutMs);
      return true;
    }
    // First deploy failed: nothing earlier to go back to.
    const routed = new Set((await o.runtime.routes()).map((r) => r.instance));
    if (routed.size === 0) {
      // Nothing ever served: leave nothing running (no proxy answering 503 forever).
      await o.runtime.shutdown(DEFAULTS.strategy.stopTimeoutMs);
      return false;
    }
    for (const i of await o.runtime.instances()) if (!routed.has(i.id) && i.release === failed) await o.runtime.stopInstance(i.id, DEFAULTS.strategy.stopTimeoutMs);
    return false;
  }

  /**
   * Converge on `rel` serving with `count` healthy routed instances and nothing
   * else running: keep healthy instances of it, start what is missing
   * (health-gated), route, then drain and stop everything else.
   */
  private async ensureServing(o: Opened, rel: ReleaseRecord, count: number, deploymentId?: string): Promise<void> {
    const where = { app: o.app, target: o.name, deploymentId };
    await o.runtime.ensureRouter();
    const health = resolveHealth((rel.manifest as unknown as Manifest).health ?? o.manifest.health);
    const observed = await o.runtime.instances();
    const keep: ObservedInstance[] = [];
    for (const i of observed) {
      if (keep.length >= count || i.release !== rel.id || i.state === 'stopped' || i.state === 'stopping') continue;
      if ((await probe(o.runtime, i, health)).ok) keep.push(i);
    }
    const ref = await this.releaseRef(rel);
    const started: InstanceHandle[] = [];
    const stopTimeout = o.manifest.strategy.stop_timeout ?? DEFAULTS.strategy.stopTimeoutMs;
    for (let idx = keep.length; idx < count; idx++) {
      const id = newInstanceId(rel.id, idx);
      this.emit(where, 'info', `start instance ${id} of ${rel.id}`, 'startInstance');
      try {
        const h = await o.runtime.startInstance({ id, index: idx, release: ref, env: this.appEnv(o, ref, id), secretEnv: ref.secretEnv });
        started.push(h);
        const r = await waitHealthy(o.runtime, h, health);
        if (!r.ok) throw new GantryError('HEALTH_FAILED', `instance ${id} of ${rel.id} did not become healthy: ${r.detail}`, 'see `gantry logs`');
      } catch (err) {
        // Nothing half-started stays behind (the supervisor would keep restarting it, unrouted).
        for (const h of started) await o.runtime.stopInstance(h.id, stopTimeout).catch(() => undefined);
        await o.runtime.stopInstance(id, stopTimeout).catch(() => undefined);
        throw err;
      }
    }
    const serving = [...keep, ...started];
    await o.runtime.setRoutes(serving.map((h) => ({ instance: h.id, release: rel.id, url: `http://${h.endpoint.host}:${h.endpoint.port}`, weight: 1 })));
    const servingIds = new Set(serving.map((h) => h.id));
    const others = (await o.runtime.instances()).filter((i) => !servingIds.has(i.id));
    if (others.length) {
      await o.runtime.drain(others.map((i) => i.id), o.manifest.strategy.drain_timeout ?? DEFAULTS.strategy.drainTimeoutMs);
      for (const i of others) await o.runtime.stopInstance(i.id, o.manifest.strategy.stop_timeout ?? DEFAULTS.strategy.stopTimeoutMs);
    }
    await o.runtime.markCurrent(ref);
  }

  /** Retention: keep the newest N, and never the current or the last known-good release. */
  private async prune(o: Opened, emit: (level: EngineEventLevel, message: string) => void): Promise<void> {
    const record = this.store.getTarget(o.app, o.name)!;
    const all = this.store.listReleases(o.app, o.name);
    const lkg = all.find((r) => r.id !== record.currentRelease && r.lastGoodAt);
    const keep = new Set([...all.slice(0, DEFAULTS.releasesKept).map((r) => r.id), record.currentRelease, lkg?.id]);
    for (const r of all) {
      if (keep.has(r.id)) continue;
      try {
        await o.target.removeArtifact(r.artifact as Artifact, o.ctx);
        this.store.markReleaseDeleted(o.app, o.name, r.id);
        emit('info', `pruned release ${r.id}`);
      } catch (err) {
        emit('warn', `could not prune release ${r.id}: ${(err as Error).message}`);
      }
    }
  }

  // ---- scaling ----------------------------------------------------------------

  /**
   * Change the instance count of the current release, no new release: new
   * instances join the proxy only once healthy, removed ones are drained first.
   */
  async scale(loaded: LoadedManifest, targetName: string | undefined, count: number, opts: { wait?: boolean; reason?: string } = {}): Promise<DeployResult & { from: number; to: number }> {
    if (!Number.isInteger(count) || count < 1 || count > 100) throw new GantryError('USAGE', `cannot scale to ${count}`, 'give a whole number of instances from 1 to 100');
    return this.withTarget(loaded, targetName, 'scale', opts.wait ?? false, async (o, reconciled) => {
      const rel = this.currentRelease(o);
      if (o.record.desiredState === 'stopped') throw new GantryError('USAGE', `${o.app} is stopped on ${o.name}`, '`gantry start` it first; scaling a stopped app would start it behind your back');
      const from = o.record.instances;
      const started = Date.now();
      const d = this.store.insertDeployment({ id: newDeploymentId(), app: o.app, target: o.name, targetType: o.target.type, kind: 'scale', actor: this.opts.actor, release: rel.id, previousRelease: rel.id });
      const reason = opts.reason ?? 'requested';
      this.emit({ app: o.app, target: o.name, deploymentId: d.id }, 'info', `scale ${from} → ${count} instance(s) of ${rel.id} (${reason})`, 'scale', { from, to: count, reason });
      try {
        await this.ensureServing(o, rel, count, d.id);
        this.store.updateTarget(o.app, o.name, { instances: count });
        const url = await o.runtime.accessUrl();
        this.store.updateDeployment(d.id, { status: 'succeeded', reason, accessUrl: url });
        this.store.audit(this.opts.actor, 'scale', o.app, o.name, { from, to: count, reason });
        return { id: d.id, app: o.app, target: o.name, kind: 'scale', release: rel.id, status: 'succeeded', url, duration_ms: Date.now() - started, reason, from, to: count, reconciled: reconciled.length ? reconciled : undefined };
      } catch (err) {
        const e = toGantryError(err);
        // Whatever started is reconciled back to the recorded count.
        await this.ensureServing(o, rel, from, d.id).catch(() => undefined);
        this.store.updateDeployment(d.id, { status: 'failed', reason: e.message });
        return { id: d.id, app: o.app, target: o.name, kind: 'scale', release: rel.id, status: 'failed', duration_ms: Date.now() - started, reason: e.message, error: e.toJSON(), from, to: count };
      }
    });
  }

  /**
   * One autoscaler tick: sample CPU (two readings make a rate) and in-flight
   * requests, decide within [min, max] and the cooldown, and scale through the
   * same health-gated path as `gantry scale`. A face runs this in a loop.
   */
  async autoscaleTick(loaded: LoadedManifest, targetName: string | undefined, state: AutoscaleState): Promise<{ action: 'none' | 'scaled' | 'busy' | 'stop' | 'failed'; load?: LoadSample; decision?: ScaleDecision; reason?: string }> {
    const a = loaded.manifest.autoscale;
    if (!a) return { action: 'stop', reason: 'the manifest has no autoscale' };
    const o = await this.open(loaded, targetName);
    let load: LoadSample;
    let decision: ScaleDecision | undefined;
    try {
      if (o.record.desiredState === 'stopped' || !o.record.currentRelease) return { action: 'stop', reason: 'the app is stopped or not deployed' };
      const now = Date.now();
      const cpu = await o.runtime.instanceCpuSeconds();
      let cpuPercent: number | undefined;
      if (state.lastCpu) {
        const rates = Object.keys(cpu)
          .filter((id) => id in state.lastCpu!.seconds)
          .map((id) => cpuPercentBetween(state.lastCpu!.seconds[id]!, cpu[id]!, now - state.lastCpu!.at));
        if (rates.length) cpuPercent = rates.reduce((x, y) => x + y, 0) / rates.length;
      }
      state.lastCpu = { at: now, seconds: cpu };
      const routed = new Set((await o.runtime.routes()).map((r) => r.instance));
      const inflightRows = ((await o.runtime.trafficStats()) as { backends?: Array<{ id: string; inflight: number }> } | undefined)?.backends?.filter((b) => routed.has(b.id)) ?? [];
      const inflight = inflightRows.length ? inflightRows.reduce((x, b) => x + b.inflight, 0) / inflightRows.length : undefined;
      load = { cpuPercent, inflight };
      decision = decideScale(o.record.instances, load, { min: a.min, max: a.max, cpuPercent: a.cpu_percent, concurrency: a.concurrency, cooldownMs: a.cooldown ?? DEFAULTS.autoscale.cooldownMs }, now - state.lastChangeAt);
      if (!decision) return { action: 'none', load };
    } finally {
      await o.runtime.close();
    }
    try {
      const r = await this.scale(loaded, targetName, decision.desired, { reason: `autoscale: ${decision.reason}` });
      state.lastChangeAt = Date.now();
      state.lastCpu = undefined;
      return { action: r.status === 'succeeded' ? 'scaled' : 'failed', load, decision, reason: r.reason };
    } catch (err) {
      if (isGantryError(err) && err.code === 'LOCK_HELD') return { action: 'busy', load, decision, reason: err.message };
      throw err;
    }
  }

  // ---- backups ----------------------------------------------------------------

  backupsDir(): string {
    return join(this.opts.stateDir, 'backups');
  }

  /**
   * One archive: the state (SQLite online backup), the target's artifacts and
   * persistent data, and, only when asked, the app's encrypted secrets.
   */
  async backup(loaded: LoadedManifest, targetName: string | undefined, opts: { includeSecrets?: boolean; out?: string; reason?: string } = {}) {
    const o = await this.open(loaded, targetName);
    try {
      return await this.backupOpened(o, opts);
    } finally {
      await o.runtime.close();
    }
  }

  private async backupOpened(o: Opened, opts: { includeSecrets?: boolean; out?: string; reason?: string }) {
    const { backupFileName, createBackup } = await import('../backup/index.js');
    const dirs = ((await o.target.dataDirs?.(o.ctx, o.manifest.persist ?? [])) ?? []).filter((d) => existsSync(d.dir));
    const file = opts.out ?? join(this.backupsDir(), backupFileName(o.app, o.name));
    const appSecrets = join(secretsDir(this.opts.stateDir), o.app);
    const r = await createBackup({
      outFile: file,
      db: this.store.db,
      app: o.app,
      target: o.name,
      release: o.record.currentRelease,
      stateSchemaVersion: this.store.schemaVersion,
      dataDirs: dirs.map(({ name, dir }) => ({ name, dir })),
      secretsDir: opts.includeSecrets && existsSync(appSecrets) ? appSecrets : undefined,
    });
    this.store.audit(this.opts.actor, 'backup', o.app, o.name, { file: r.file, bytes: r.bytes, includesSecrets: r.manifest.includesSecrets, reason: opts.reason });
    this.emit({ app: o.app, target: o.name }, 'info', `backup written: ${r.file} (${r.bytes} bytes${opts.reason ? `, ${opts.reason}` : ''})`, 'backup');
    return { file: r.file, bytes: r.bytes, created_at: r.manifest.createdAt, app: o.app, target: o.name, release: r.manifest.release, entries: r.manifest.entries.length, includes_secrets: r.manifest.includesSecrets };
  }

  async backups(loaded: LoadedManifest) {
    const { listBackups } = await import('../backup/index.js');
    const list = await listBackups(this.backupsDir());
    return list
      .filter((b) => !b.manifest || b.manifest.app === loaded.manifest.app)
      .map((b) => ({ file: b.file, bytes: b.bytes, created_at: b.manifest?.createdAt, app: b.manifest?.app, target: b.manifest?.target, release: b.manifest?.release, includes_secrets: b.manifest?.includesSecrets, entries: b.manifest?.entries.length, files: b.manifest?.entries.map((e) => ({ path: e.path, size: e.size, sha256: e.sha256 })), problem: b.problem }));
  }

  /**
   * Verify every checksum first, stop what runs, swap state, data and
   * artifacts in, then bring the recorded release back up.
   */
  async restore(loaded: LoadedManifest, targetName: string | undefined, file: string, opts: { force?: boolean; wait?: boolean } = {}) {
    const { inspectBackup, restoreBackup, verifyBackup } = await import('../backup/index.js');
    return this.withTarget(loaded, targetName, 'restore', opts.wait ?? false, async (o) => {
      const manifest = await inspectBackup(file);
      const dirs = (await o.target.dataDirs?.(o.ctx, o.manifest.persist ?? [])) ?? [];
      const wanted = dirs.filter((d) => manifest.entries.some((e) => e.path === `data/${d.name}` || e.path.startsWith(`data/${d.name}/`)));
      const appSecrets = join(secretsDir(this.opts.stateDir), o.app);
      const restoreOpts = {
        file,
        stateDbFile: this.store.file,
        dataDirs: wanted.map(({ name, dir }) => ({ name, dir })),
        secretsDir: manifest.includesSecrets ? appSecrets : undefined,
        currentState: { app: o.app, newestDeploymentAt: this.store.newestDeploymentAt(o.app) },
        force: opts.force,
      };
      // Refusals (corrupt, foreign, older than what is here) come before anything stops.
      await verifyBackup(file);
      if (!opts.force && restoreOpts.currentState.newestDeploymentAt && restoreOpts.currentState.newestDeploymentAt > manifest.createdAt) {
        throw new GantryError('RESTORE_REFUSED', `the state here has deployments newer than the backup (${restoreOpts.currentState.newestDeploymentAt} > ${manifest.createdAt})`, 'pass --force to go back to the backup anyway');
      }
      if (manifest.app !== o.app) throw new GantryError('RESTORE_REFUSED', `${file} is a backup of app "${manifest.app}", not "${o.app}"`, 'restore it with the manifest of that app');
      await o.runtime.shutdown(DEFAULTS.strategy.stopTimeoutMs);
      await this.store.replaceFile(async () => {
        await restoreBackup({ ...restoreOpts, force: true });
      });
      o.record = this.store.getTarget(o.app, o.name) ?? this.store.ensureTarget(o.app, o.name, o.target.type);
      o.ctx.settings = o.record.settings;
      this.store.audit(this.opts.actor, 'restore', o.app, o.name, { file, createdAt: manifest.createdAt, release: manifest.release });
      const rel = o.record.currentRelease ? this.store.getRelease(o.app, o.name, o.record.currentRelease) : undefined;
      if (rel && o.record.desiredState === 'running') await this.ensureServing(o, rel, o.record.instances);
      return { file, restored_at: new Date().toISOString(), backup_created_at: manifest.createdAt, app: o.app, target: o.name, release: o.record.currentRelease, files: manifest.entries.length, url: await o.runtime.accessUrl() };
    });
  }

  /** Publish a release's artifact (default: the current release) through the target, recorded as the deployment's registry_image. */
  async push(loaded: LoadedManifest, targetName: string | undefined, opts: { registry?: string; release?: string; auth?: { username: string; password: string } }) {
    const o = await this.open(loaded, targetName);
    try {
      if (!o.target.push) throw new GantryError('USAGE', `the ${o.target.type} target has nothing to push`, 'push works for targets that build images (docker)');
      const rel = opts.release ? this.store.getRelease(o.app, o.name, opts.release) : this.currentRelease(o);
      if (!rel || rel.deleted) throw new GantryError('RELEASE_NOT_FOUND', `release ${opts.release} is not kept`, 'see `gantry releases`');
      const r = await o.target.push({ release: rel.id, artifact: rel.artifact as Artifact, registry: opts.registry, auth: opts.auth }, o.ctx);
      const d = this.store.listDeployments(o.app, o.name, 100).find((x) => x.release === rel.id && x.status === 'succeeded');
      if (d) this.store.updateDeployment(d.id, { registryImage: r.reference });
      this.store.audit(this.opts.actor, 'push', o.app, o.name, { release: rel.id, reference: r.reference });
      return { app: o.app, target: o.name, release: rel.id, deployment: d?.id, registry_image: r.reference, digest: r.digest };
    } finally {
      await o.runtime.close();
    }
  }

  // ---- crash recovery --------------------------------------------------------

  /**
   * Finish or undo deployments whose engine died (we hold the lock, so their
   * process is gone). Forward when traffic already went wholly to the new
   * release and it is healthy; otherwise back to the previous release.
   */
  private async reconcileLocked(o: Opened): Promise<ReconcileReport[]> {
    const reports: ReconcileReport[] = [];
    for (const d of this.store.unfinishedDeployments(o.app, o.name)) {
      if (d.pid === process.pid) continue;
      const steps = this.store.listSteps(d.id);
      const at = steps.find((s) => s.status === 'running') ?? steps.find((s) => s.status === 'pending');
      const where = { app: o.app, target: o.name, deploymentId: d.id };
      const interruptedAt = at ? `${at.kind} (step ${at.idx + 1} of ${steps.length})` : 'after its last step';
      this.emit(where, 'warn', `deployment ${d.id} was interrupted at ${interruptedAt}; reconciling`, 'reconcile');
      const routes = await o.runtime.routes();
      const newRel = d.release ? this.store.getRelease(o.app, o.name, d.release) : undefined;
      const count = d.kind === 'deploy' ? o.manifest.run.instances : o.record.instances;
      // Forward only for a rollout whose traffic had moved wholly to the new release, and only if that release is healthy now.
      const rollout = d.kind === 'deploy' || d.kind === 'rollback' || d.kind === 'restart';
      let forward = Boolean(rollout && newRel && newRel.id !== d.previousRelease && routes.length > 0 && routes.every((r) => r.release === newRel.id));
      if (forward) {
        const health = resolveHealth((newRel!.manifest as unknown as Manifest).health ?? o.manifest.health);
        const observed = new Map((await o.runtime.instances()).map((i) => [i.id, i]));
        for (const r of routes) {
          const inst = observed.get(r.instance);
          if (!inst || !(await probe(o.runtime, inst, health)).ok) forward = false;
        }
      }
      let report: ReconcileReport | undefined;
      try {
        if (forward) {
          try {
            await this.ensureServing(o, newRel!, count, d.id);
            this.store.updateTarget(o.app, o.name, { currentRelease: newRel!.id, desiredState: 'running', instances: count });
            if (d.previousRelease && d.previousRelease !== newRel!.id) this.store.setReleaseStatus(o.app, o.name, d.previousRelease, 'superseded');
            this.store.setReleaseStatus(o.app, o.name, newRel!.id, 'active', true);
            this.store.updateDeployment(d.id, { status: 'succeeded', reason: `interrupted at ${interruptedAt}; traffic had switched to a healthy release, completed by reconciliation`, waiting: undefined });
            report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'completed', release: newRel!.id };
          } catch (err) {
            this.emit(where, 'warn', `could not complete the interrupted deployment (${(err as Error).message}); going back instead`, 'reconcile');
          }
        }
        if (!report && d.kind === 'stop') {
          await o.runtime.shutdown(DEFAULTS.strategy.stopTimeoutMs);
          this.store.updateDeployment(d.id, { status: 'succeeded', reason: `interrupted at ${interruptedAt}; the stop was completed by reconciliation`, waiting: undefined });
          report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'stopped' };
        }
        if (!report) {
          const prevId = d.previousRelease ?? o.record.currentRelease;
          const prev = prevId ? this.store.getRelease(o.app, o.name, prevId) : undefined;
          if (prev && o.record.desiredState === 'running') {
            await this.ensureServing(o, prev, o.record.instances, d.id);
            report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'rolled_back', release: prev.id };
          } else {
            await o.runtime.shutdown(DEFAULTS.strategy.stopTimeoutMs);
            report = { deployment: d.id, interrupted_at: interruptedAt, outcome: 'stopped' };
          }
          if (newRel && newRel.id !== prev?.id) this.store.setReleaseStatus(o.app, o.name, newRel.id, 'failed');
          this.store.updateDeployment(d.id, { status: report.outcome === 'rolled_back' ? 'rolled_back' : 'failed', reason: `interrupted at ${interruptedAt}; reconciled back to ${prev?.id ?? 'nothing (first deploy)'}`, waiting: undefined });
        }
      } catch (err) {
        this.store.updateDeployment(d.id, { status: 'failed', reason: `interrupted at ${interruptedAt}; reconciliation failed: ${(err as Error).message}` });
        throw err;
      }
      this.emit(where, 'info', `reconciled: ${report.outcome}${report.release ? ` (${report.release} serves)` : ''}`, 'reconcile', report);
      reports.push(report);
    }
    return reports;
  }

  /** Reconcile now if no one holds the lock (used by read commands such as status). */
  private async reconcileIfFree(o: Opened): Promise<ReconcileReport[]> {
    const pending = this.store.unfinishedDeployments(o.app, o.name);
    if (pending.length === 0) return [];
    let unlock: (() => void) | undefined;
    try {
      unlock = await acquireLock(this.store, o.app, o.name, { command: 'status', wait: false });
    } catch (err) {
      if (isGantryError(err) && err.code === 'LOCK_HELD') return [];
      throw err;
    }
    try {
      const reports = await this.reconcileLocked(o);
      o.record = this.store.getTarget(o.app, o.name)!;
      return reports;
    } finally {
      unlock();
    }
  }

  // ---- read operations --------------------------------------------------------

  async status(loaded: LoadedManifest, targetName?: string): Promise<{ app: string; targets: TargetStatus[] }> {
    const names = targetName ? [this.resolveTargetName(loaded, targetName)] : this.targetNames(loaded);
    const targets: TargetStatus[] = [];
    for (const name of names) {
      const o = await this.open(loaded, name);
      try {
        targets.push(await this.targetStatus(o));
      } finally {
        await o.runtime.close();
      }
    }
    return { app: loaded.manifest.app, targets };
  }

  private async targetStatus(o: Opened): Promise<TargetStatus> {
    const reconciled = await this.reconcileIfFree(o);
    const record = o.record;
    const routes = await o.runtime.routes();
    const routedIds = new Set(routes.map((r) => r.instance));
    const rel = record.currentRelease ? this.store.getRelease(o.app, o.name, record.currentRelease) : undefined;
    const health = resolveHealth((rel?.manifest as unknown as Manifest | undefined)?.health ?? o.manifest.health);
    const instances: InstanceStatus[] = [];
    for (const i of await o.runtime.instances()) {
      const p = i.state === 'running' || i.state === 'starting' ? await probe(o.runtime, i, health) : { ok: false, detail: i.state };
      instances.push({ id: i.id, release: i.release, healthy: p.ok, routed: routedIds.has(i.id), url: `http://${i.endpoint.host}:${i.endpoint.port}`, state: i.state, pid: i.pid, restarts: i.restarts, detail: p.ok ? undefined : p.detail });
    }
    const healthyServing = instances.filter((i) => i.healthy && i.routed && i.release === record.currentRelease).length;
    let missing: string[] = [];
    try {
      await this.currentSecrets(o);
    } catch (err) {
      if (isGantryError(err) && err.code === 'SECRET_MISSING') missing = ((err.details as { missing?: string[] }) ?? {}).missing ?? [];
    }
    let state: TargetStatus['state'];
    if (!record.currentRelease) state = missing.length ? 'needs_secrets' : 'not_deployed';
    else if (record.desiredState === 'stopped') state = 'stopped';
    else if (healthyServing >= record.instances) state = 'running';
    else if (healthyServing === 0 && instances.length === 0) state = 'stopped';
    else state = 'degraded';
    const lock = this.store.getLock(o.app, o.name);
    const running = this.store.unfinishedDeployments(o.app, o.name)[0];
    const last = this.store.listDeployments(o.app, o.name, 1)[0];
    const stats = await o.runtime.trafficStats().catch(() => undefined);
    return {
      target: o.name,
      type: o.target.type,
      release: record.currentRelease,
      state,
      desired: { state: record.desiredState, instances: record.instances },
      instances,
      url: await o.runtime.accessUrl(),
      missing_secrets: missing.length ? missing : undefined,
      autoscale: o.manifest.autoscale
        ? {
            min: o.manifest.autoscale.min,
            max: o.manifest.autoscale.max,
            cpu_percent: o.manifest.autoscale.cpu_percent,
            concurrency: o.manifest.autoscale.concurrency,
            events: this.store
              .listEvents({ app: o.app, target: o.name, limit: 500 })
              .filter((e) => e.step === 'scale')
              .slice(-10)
              .map((e) => ({ at: e.at, ...(e.data as { from: number; to: number; reason: string }) })),
          }
        : undefined,
      deploying: lock ? { id: lock.deploymentId ?? running?.id ?? '', holder: lock.holder, since: lock.acquiredAt, waiting: running?.waiting } : undefined,
      last_deployment: last ? { id: last.id, kind: last.kind, status: last.status, release: last.release, reason: last.reason, finished_at: last.finishedAt } : undefined,
      reconciled: reconciled.length ? reconciled : undefined,
      traffic: stats,
    };
  }

  async releases(loaded: LoadedManifest, targetName?: string): Promise<ReleaseInfo[]> {
    const name = this.resolveTargetName(loaded, targetName);
    const record = this.store.getTarget(loaded.manifest.app, name);
    return this.store.listReleases(loaded.manifest.app, name).map((r) => ({ release: r.id, created_at: r.createdAt, status: r.status, current: r.id === record?.currentRelease, last_good_at: r.lastGoodAt }));
  }

  async *logs(loaded: LoadedManifest, targetName: string | undefined, opts: { lines: number; follow: boolean; signal?: AbortSignal }) {
    const o = await this.open(loaded, targetName);
    try {
      yield* o.runtime.logs(opts);
    } finally {
      await o.runtime.close();
    }
  }

  events(loaded: LoadedManifest, targetName: string | undefined, opts: { deploymentId?: string; limit?: number }) {
    const name = this.resolveTargetName(loaded, targetName);
    return this.store.listEvents({ app: loaded.manifest.app, target: name, deploymentId: opts.deploymentId, limit: opts.limit });
  }

  history(loaded: LoadedManifest, targetName?: string, limit = 20): DeploymentRecord[] {
    return this.store.listDeployments(loaded.manifest.app, this.resolveTargetName(loaded, targetName), limit);
  }
}

