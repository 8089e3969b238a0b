import type Docker from 'dockerode';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { createInterface } from 'node:readline';
import type { AgentProbeWhere } from '../../agent/protocol.js';
import { AgentRouter } from '../shared/agent-router.js';
import { ProxiedRuntime } from '../shared/proxied-runtime.js';
import { freePort } from '../../agent/free-port.js';
import { TailBuffer } from '../../core/bounded.js';
import { daemonEnv } from '../../core/env.js';
import { GantryError } from '../../core/errors.js';
import type { ExecRequest, InstanceHandle, InstanceRequest, LogLine, ObservedInstance, ReleaseRef, RouterOptions, TargetContext, TargetRuntime } from '../../engine/target.js';
import { processPathsForAgent } from './paths.js';
import type { DockerConfig } from './config.js';
import { containerSpec, volumeMounts } from './container-spec.js';
import { execInContainer, execOneOff } from './exec.js';
import { engineMessage, requireEngine } from './engine-client.js';
import { containerName, imageRepo, LABEL, volumeName } from './names.js';
import { readContainerUsage, type ContainerUsage, type UsageSources } from './usage.js';
import { SECRETS_TMPFS, wrapCommandForSecrets, writeSecretFiles } from './secret-files.js';
import { posix } from 'node:path';

const REAPER = fileURLToPath(new URL('./reaper.js', import.meta.url));

const isGone = (err: unknown): boolean => [304, 404].includes((err as { statusCode?: number }).statusCode ?? 0);

/** App containers on a Docker engine, behind Gantry's proxy (hosted by the agent, like the process target's). */
export class DockerRuntime extends ProxiedRuntime implements TargetRuntime {
  private readonly agentDir: string;

  constructor(
    private readonly ctx: TargetContext<DockerConfig>,
    private readonly docker: Docker,
  ) {
    const agentDir = processPathsForAgent(ctx.stateDir, ctx.app, ctx.targetName);
    super(new AgentRouter(agentDir, { port: ctx.config.port, host: ctx.config.host, settings: () => ctx.settings, saveSettings: (n) => ctx.saveSettings(n) }));
    this.agentDir = agentDir;
  }

  override async ensureRouter(opts?: RouterOptions): Promise<{ url: string }> {
    // The engine first: a deploy to an engine that is not there fails before anything changes.
    await requireEngine(this.docker, this.ctx.config.docker_host);
    return this.router.ensureRouter(opts);
  }

  private labelFilter(extra: string[] = []): { label: string[] } {
    return { label: [`${LABEL.app}=${this.ctx.app}`, `${LABEL.target}=${this.ctx.targetName}`, `${LABEL.role}=app`, ...extra] };
  }

  private workdirs = new Map<string, string>();

  /** Persistent paths are named volumes mounted under the image's working directory. */
  private async persistMounts(image: string, persist: string[]): Promise<Docker.MountSettings[]> {
    if (persist.length === 0) return [];
    let wd = this.workdirs.get(image);
    if (wd === undefined) {
      wd = (await this.docker.getImage(image).inspect()).Config.WorkingDir || '/';
      this.workdirs.set(image, wd);
    }
    return persist.map((p) => ({ Type: 'volume' as const, Source: volumeName(this.ctx.app, this.ctx.targetName, p), Target: posix.join(wd!, p) }));
  }

  async startInstance(req: InstanceRequest): Promise<InstanceHandle> {
    const hostPort = await freePort();
    const image = String(req.release.artifact.tag ?? req.release.artifact.ref);
    const name = containerName(this.ctx.app, this.ctx.targetName, req.id);
    const secretNames = this.ctx.config.secrets_as_files ? Object.keys(req.secretEnv) : [];
    const wrapped = secretNames.length ? await wrapCommandForSecrets(this.docker, image, secretNames) : undefined;
    const spec = containerSpec({
      app: this.ctx.app,
      target: this.ctx.targetName,
      instance: req.id,
      release: req.release.id,
      image,
      name,
      mounts: await this.persistMounts(image, req.release.persist),
      containerPort: req.release.run.port,
      hostPort,
      // Secrets go in the container's environment, or as files (below) when secrets_as_files is set.
      env: this.ctx.config.secrets_as_files ? req.env : { ...req.env, ...req.secretEnv },
      cfg: this.ctx.config,
      appDir: this.ctx.appDir,
      health: req.release.health,
      ...(wrapped ? { secretFiles: { Entrypoint: wrapped.Entrypoint, Cmd: wrapped.Cmd } } : {}),
    });
    let c: Docker.Container | undefined;
    try {
      c = await this.docker.createContainer(spec);
      await c.start();
      if (wrapped) await writeSecretFiles(c, req.secretEnv, wrapped.user);
    } catch (err) {
      await c?.remove({ force: true }).catch(() => undefined);
      throw new GantryError('START_FAILED', `container ${name} could not start: ${engineMessage(err)}`, 'check the image and the target\'s volumes/resources; `gantry doctor` checks the engine');
    }
    // The engine's restart policy does not restart a container killed behind our back (`docker kill`): the agent does.
    // Not one with secret files: they live on a tmpfs that a restart empties, and the agent never holds secret
    // values; `gantry deploy` (or `start`) replaces such a container instead.
    if (this.ctx.config.restart !== 'no' && !wrapped) {
      const agent = await this.router.required();
      await agent.watchContainer({ id: req.id, release: req.release.id, container: name, dockerHost: this.ctx.config.docker_host, health: req.release.health, port: hostPort });
    }
    return { id: req.id, release: req.release.id, endpoint: { host: '127.0.0.1', port: hostPort } };
  }

  async stopInstance(id: string, timeoutMs: number): Promise<void> {
    // Forgotten first, so the agent does not start again what we stop.
    const agent = await this.router.running();
    if (agent) await agent.forgetContainer(id);
    const c = this.docker.getContainer(containerName(this.ctx.app, this.ctx.targetName, id));
    await c.stop({ t: Math.ceil(timeoutMs / 1000) }).catch((e) => {
      if (!isGone(e)) throw e;
    });
    await c.remove({ force: true, v: false }).catch((e) => {
      if (!isGone(e)) throw e;
    });
  }

  async stopInstanceLater(id: string, afterMs: number, timeoutMs: number): Promise<void> {
    // A detached reaper outlives this CLI: it stops the container when the warm period ends, unless it was routed again.
    const child = spawn(process.execPath, [REAPER, '--container', containerName(this.ctx.app, this.ctx.targetName, id), '--instance', id, '--after', String(afterMs), '--timeout', String(timeoutMs), '--agent-dir', this.agentDir, ...(this.ctx.config.docker_host ? ['--docker-host', this.ctx.config.docker_host] : [])], {
      detached: true,
      stdio: 'ignore',
      env: daemonEnv(),
    });
    child.unref();
  }

  /** The reading in flight: CPU and memory asked for together (as `status` does) share one, and agree. */
  private usageReading?: Promise<ContainerUsage>;
  private readonly usageSources: UsageSources = new Map();

  private containerUsage(): Promise<ContainerUsage> {
    this.usageReading ??= (async () => {
      const running = (await this.instances()).filter((x) => x.state === 'running');
      const host = this.ctx.config.docker_host;
      const local = host === undefined || host.startsWith('unix://');
      return readContainerUsage(this.docker, running.map((i) => ({ id: i.id, name: containerName(this.ctx.app, this.ctx.targetName, i.id) })), local, this.usageSources);
    })().finally(() => (this.usageReading = undefined));
    return this.usageReading;
  }

  async instanceCpuSeconds(): Promise<Record<string, number>> {
    return (await this.containerUsage()).cpuSeconds;
  }

  /** Memory in use without the page cache, as `docker stats` shows it. */
  async instanceMemoryBytes(): Promise<Record<string, number>> {
    return (await this.containerUsage()).memoryBytes;
  }

  async instances(): Promise<ObservedInstance[]> {
    const list = await this.docker.listContainers({ all: true, filters: this.labelFilter() }).catch(async (err: unknown) => {
      await requireEngine(this.docker, this.ctx.config.docker_host);
      throw err;
    });
    const agent = await this.router.running();
    // Restarts the agent made (`docker start` of a killed container) count like the engine's own.
    const byAgent = new Map(agent ? (await agent.containerRestarts().catch(() => [])).map((r) => [r.id, r.restarts]) : []);
    const out: ObservedInstance[] = [];
    for (const c of list) {
      const info = await this.docker.getContainer(c.Id).inspect().catch(() => undefined);
      if (!info) continue;
      const st = info.State;
      const state = st.Restarting ? 'backoff' : st.Running ? 'running' : st.Status === 'created' ? 'starting' : 'stopped';
      out.push({
        id: c.Labels[LABEL.instance]!,
        release: c.Labels[LABEL.release]!,
        endpoint: { host: '127.0.0.1', port: Number(c.Labels['dev.gantry.host-port']) },
        state,
        pid: st.Pid || undefined,
        restarts: info.RestartCount + (byAgent.get(c.Labels[LABEL.instance]!) ?? 0),
        startedAt: st.StartedAt,
        lastExit: st.FinishedAt && !st.FinishedAt.startsWith('0001') ? { code: st.ExitCode, signal: null, at: st.FinishedAt } : undefined,
      });
    }
    return out;
  }

  async *logs(opts: { lines: number; follow: boolean; instances?: string[]; signal?: AbortSignal }): AsyncIterable<LogLine> {
    const queue: LogLine[] = [];
    let wake: (() => void) | undefined;
    let open = 0;
    const streams: NodeJS.ReadableStream[] = [];
    const attached = new Set<string>();
    // Both streams of one container, demultiplexed into lines.
    const attach = async (id: string, tail: number | 'all'): Promise<void> => {
      if (attached.has(id)) return;
      attached.add(id);
      const c = this.docker.getContainer(containerName(this.ctx.app, this.ctx.targetName, id));
      const raw = (await c.logs({ stdout: true, stderr: true, timestamps: true, tail: tail as number, follow: opts.follow as true }).catch(() => undefined)) as unknown as NodeJS.ReadableStream | Buffer | undefined;
      if (!raw) return;
      const out = new PassThrough();
      const err = new PassThrough();
      open += 2;
      for (const [s, name] of [[out, 'out'], [err, 'err']] as const) {
        const rl = createInterface({ input: s });
        rl.on('line', (line: string) => {
          const m = /^(\S+) (.*)$/s.exec(line);
          // Docker's RFC 3339 times (ns) as ISO 8601 with ms, like every other target's lines.
          const t = m ? Date.parse(m[1]!) : Number.NaN;
          queue.push({ at: Number.isNaN(t) ? m?.[1] : new Date(t).toISOString(), instance: id, stream: name, text: m?.[2] ?? line });
          wake?.();
        });
        rl.on('close', () => {
          open--;
          wake?.();
        });
      }
      if (Buffer.isBuffer(raw)) return demuxBuffer(raw, out, err);
      streams.push(raw);
      this.docker.modem.demuxStream(raw, out, err);
      raw.on('end', () => {
        out.end();
        err.end();
      });
    };
    for (const id of opts.instances ?? (await this.instances()).map((i) => i.id)) await attach(id, opts.lines);
    if (!opts.follow) {
      while (open > 0) await new Promise<void>((r) => (wake = r));
      queue.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
      yield* queue.slice(-opts.lines);
      return;
    }
    // Containers started later (a deploy, a restart, scaling) are followed from their first line.
    const poll = setInterval(() => {
      if (opts.instances) return;
      void this.instances().then((list) => list.forEach((i) => void attach(i.id, 'all')), () => undefined);
    }, 1000);
    opts.signal?.addEventListener('abort', () => {
      for (const s of streams) (s as unknown as { destroy(): void }).destroy();
      wake?.();
    });
    try {
      while (!opts.signal?.aborted) {
        if (queue.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        while (queue.length) yield queue.shift()!;
      }
    } finally {
      clearInterval(poll);
      for (const s of streams) (s as unknown as { destroy(): void }).destroy();
    }
  }

  /** The health command runs inside the instance's container (the agent execs it). */
  protected probeWhere(instance: InstanceHandle): AgentProbeWhere {
    return { kind: 'container', container: containerName(this.ctx.app, this.ctx.targetName, instance.id), dockerHost: this.ctx.config.docker_host };
  }

  async runTask(task: { release: ReleaseRef; command: string; env: Record<string, string>; secretEnv: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number; output: string }> {
    const { release, command, timeoutMs } = task;
    const asFiles = this.ctx.config.secrets_as_files;
    const env = asFiles ? task.env : { ...task.env, ...task.secretEnv };
    const image = String(release.artifact.tag ?? release.artifact.ref);
    const names = asFiles ? Object.keys(task.secretEnv) : [];
    const wrapped = names.length ? await wrapCommandForSecrets(this.docker, image, names, ['/bin/sh', '-c', command]) : undefined;
    const c = await this.docker.createContainer({
      Image: image,
      ...(wrapped ? { Entrypoint: wrapped.Entrypoint, Cmd: wrapped.Cmd } : { Cmd: ['/bin/sh', '-c', command] }),
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { [LABEL.app]: this.ctx.app, [LABEL.target]: this.ctx.targetName, [LABEL.release]: release.id, [LABEL.role]: 'task' },
      HostConfig: { NetworkMode: this.ctx.config.network, Init: true, ...(wrapped ? { Tmpfs: SECRETS_TMPFS } : {}) },
    });
    try {
      await c.start();
      if (wrapped) await writeSecretFiles(c, task.secretEnv, wrapped.user);
      let timer: NodeJS.Timeout | undefined;
      const result = (await Promise.race([c.wait(), new Promise((r) => (timer = setTimeout(() => r({ StatusCode: 124, timedOut: true }), timeoutMs)))])) as { StatusCode: number; timedOut?: boolean };
      clearTimeout(timer);
      if (result.timedOut) await c.kill().catch(() => undefined);
      const logs = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      const out = new PassThrough();
      const output = new TailBuffer();
      out.on('data', (d: Buffer) => output.push(d));
      demuxBuffer(logs, out, out);
      return { exitCode: result.StatusCode, output: output.text() };
    } finally {
      await c.remove({ force: true }).catch(() => undefined);
    }
  }

  /**
   * In the instance named, else in a running container of the release (its env and secrets are there already),
   * else in a one-off container of the release's image with its env, secrets and volumes.
   */
  async exec(req: ExecRequest): Promise<{ exitCode: number }> {
    const running = (await this.instances()).filter((i) => i.state === 'running');
    const into = req.instance ?? running.find((i) => i.release === req.release.id)?.id;
    if (into) return execInContainer(this.docker, containerName(this.ctx.app, this.ctx.targetName, into), req.argv, req.io);
    const image = String(req.release.artifact.tag ?? req.release.artifact.ref);
    const asFiles = this.ctx.config.secrets_as_files;
    const names = asFiles ? Object.keys(req.secretEnv) : [];
    const wrapped = names.length ? await wrapCommandForSecrets(this.docker, image, names, req.argv) : undefined;
    const env = { HOST: '0.0.0.0', ...req.env, ...(asFiles ? {} : req.secretEnv), PORT: String(req.release.run.port), ...(req.io.tty && process.env.TERM ? { TERM: process.env.TERM } : {}) };
    return execOneOff(
      this.docker,
      {
        Image: image,
        ...(wrapped ? { Entrypoint: wrapped.Entrypoint, Cmd: wrapped.Cmd } : { Cmd: req.argv }),
        Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
        Labels: { [LABEL.app]: this.ctx.app, [LABEL.target]: this.ctx.targetName, [LABEL.release]: req.release.id, [LABEL.role]: 'exec' },
        HostConfig: { NetworkMode: this.ctx.config.network, Init: true, Mounts: [...volumeMounts(this.ctx.config.volumes, this.ctx.appDir), ...(await this.persistMounts(image, req.release.persist))], ...(wrapped ? { Tmpfs: SECRETS_TMPFS } : {}) },
      },
      req.io,
      wrapped ? (c) => writeSecretFiles(c, req.secretEnv, wrapped.user) : undefined,
    );
  }

  async markCurrent(release: ReleaseRef): Promise<void> {
    await this.docker
      .getImage(String(release.artifact.tag ?? release.artifact.ref))
      .tag({ repo: imageRepo(this.ctx.app), tag: `current-${this.ctx.targetName}` })
      .catch(() => undefined);
  }

  async shutdown(timeoutMs: number): Promise<void> {
    await this.router.setRoutes([]).catch(() => undefined);
    for (const i of await this.instances()) await this.stopInstance(i.id, timeoutMs);
    await this.router.shutdown(timeoutMs);
  }

}

/** The engine's multiplexed log format (8-byte header per frame) from a buffer. */
function demuxBuffer(buf: Buffer, out: PassThrough, err: PassThrough): void {
  let off = 0;
  while (off + 8 <= buf.length) {
    const type = buf[off]!;
    const len = buf.readUInt32BE(off + 4);
    const chunk = buf.subarray(off + 8, off + 8 + len);
    (type === 2 ? err : out).write(chunk);
    off += 8 + len;
  }
  out.end();
  if (err !== out) err.end();
}
