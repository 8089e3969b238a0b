import { existsSync, mkdirSync, rmSync, symlinkSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentClient } from '../../agent/client.js';
import type { AgentProbeWhere } from '../../agent/protocol.js';
import { runShellCapture } from '../../agent/shell.js';
import { AgentRouter } from '../shared/agent-router.js';
import { PushedQueue } from '../shared/pushed-queue.js';
import { ProxiedRuntime } from '../shared/proxied-runtime.js';
import { spawnExec } from '../shared/exec-local.js';
import type { ExecRequest, InstanceHandle, InstanceRequest, LogLine, ObservedInstance, ReleaseRef, TargetContext, TargetRuntime } from '../../engine/target.js';
import { followLog, tailLines } from '../../supervisor/index.js';
import type { ProcessConfig } from './config.js';
import { processPaths } from './paths.js';
import { cpuSecondsByGroup, rssBytesByGroup } from '../shared/proc-usage.js';

/** Variables of the CLI's environment an app may reasonably expect; everything else comes from the manifest. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_OPTIONS'];

export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}

const LOG_LINE_RE = /^(\S+) (out|err|sys) (.*)$/s;

export function parseLogLine(instance: string, raw: string): LogLine {
  const m = LOG_LINE_RE.exec(raw);
  return m ? { at: m[1], instance, stream: m[2] as LogLine['stream'], text: m[3]! } : { instance, stream: 'out', text: raw };
}

export class ProcessRuntime extends ProxiedRuntime implements TargetRuntime {
  private readonly paths;

  constructor(private readonly ctx: TargetContext<ProcessConfig>) {
    const paths = processPaths(ctx.stateDir, ctx.app, ctx.targetName);
    super(new AgentRouter(paths.agentDir, { port: ctx.config.port, host: ctx.config.host, settings: () => ctx.settings, saveSettings: (n) => ctx.saveSettings(n) }));
    this.paths = paths;
  }

  private running(): Promise<AgentClient | undefined> {
    return this.router.running();
  }

  async startInstance(req: InstanceRequest): Promise<InstanceHandle> {
    const agent = await this.router.required();
    mkdirSync(this.paths.logsDir, { recursive: true });
    const st = await agent.startInstance({
      id: req.id,
      release: req.release.id,
      cwd: req.release.artifact.ref,
      command: req.release.run.command ?? '',
      // Instances are reached through the proxy only: they listen on loopback.
      env: { ...baseEnv(), HOST: '127.0.0.1', ...req.env },
      secretEnv: req.secretEnv,
      logFile: join(this.paths.logsDir, `${req.id}.log`),
      // A restarted agent routes this instance again only once it passes this check.
      health: req.release.health,
    });
    return { id: st.id, release: st.release, endpoint: { host: '127.0.0.1', port: st.port } };
  }

  async stopInstance(id: string, timeoutMs: number): Promise<void> {
    const agent = await this.running();
    if (agent) await agent.stopInstance(id, timeoutMs);
  }

  async stopInstanceLater(id: string, afterMs: number, timeoutMs: number): Promise<void> {
    const agent = await this.running();
    if (agent) await agent.stopInstanceLater(id, afterMs, timeoutMs);
  }

  runTask(task: { release: ReleaseRef; command: string; env: Record<string, string>; secretEnv: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number; output: string }> {
    return runShellCapture(task.command, { cwd: task.release.artifact.ref, env: { ...baseEnv(), ...task.env, ...task.secretEnv }, timeoutMs: task.timeoutMs });
  }

  /** In the release's directory (persist paths are linked there) with its env and secrets; beside an instance: its PORT too. */
  async exec(req: ExecRequest): Promise<{ exitCode: number }> {
    const beside = req.instance ? (await this.instances()).find((i) => i.id === req.instance) : undefined;
    const term: Record<string, string> = req.io.tty && process.env.TERM ? { TERM: process.env.TERM } : {};
    const env = { ...baseEnv(), ...term, HOST: '127.0.0.1', ...req.env, ...req.secretEnv, ...(beside ? { PORT: String(beside.endpoint.port) } : {}) } as Record<string, string>;
    return spawnExec(req.argv, { cwd: req.release.artifact.ref, env, io: req.io });
  }

  async instanceCpuSeconds(): Promise<Record<string, number>> {
    const running = (await this.instances()).filter((i) => i.state === 'running' && i.pid);
    const byGroup = cpuSecondsByGroup(running.map((i) => i.pid!));
    return Object.fromEntries(running.map((i) => [i.id, byGroup[i.pid!] ?? 0]));
  }

  async instanceMemoryBytes(): Promise<Record<string, number>> {
    const running = (await this.instances()).filter((i) => i.state === 'running' && i.pid);
    const byGroup = rssBytesByGroup(running.map((i) => i.pid!));
    return Object.fromEntries(running.map((i) => [i.id, byGroup[i.pid!] ?? 0]));
  }

  async instances(): Promise<ObservedInstance[]> {
    const agent = await this.running();
    if (!agent) return [];
    return (await agent.instances()).map((i) => ({
      id: i.id,
      release: i.release,
      endpoint: { host: '127.0.0.1', port: i.port },
      state: i.state,
      pid: i.pid,
      restarts: i.restarts,
      startedAt: i.startedAt,
      lastExit: i.lastExit,
    }));
  }

  async *logs(opts: { lines: number; follow: boolean; instances?: string[]; signal?: AbortSignal }): AsyncIterable<LogLine> {
    const ids = opts.instances ?? (await this.instances()).map((i) => i.id);
    const files = ids.map((id) => ({ id, file: join(this.paths.logsDir, `${id}.log`) })).filter((f) => existsSync(f.file));
    const backlog: LogLine[] = [];
    for (const f of files) for (const raw of await tailLines(f.file, opts.lines)) backlog.push(parseLogLine(f.id, raw));
    backlog.sort((a, b) => (a.at ?? '').localeCompare(b.at ?? ''));
    yield* backlog.slice(-opts.lines);
    if (!opts.follow) return;
    const queue = new PushedQueue<LogLine>(opts.signal);
    const followed = new Set<string>();
    const follow = (id: string, fromStart: boolean): void => {
      if (followed.has(id)) return;
      followed.add(id);
      followLog(join(this.paths.logsDir, `${id}.log`), (line) => queue.push(parseLogLine(id, line)), queue.signal, { fromStart });
    };
    for (const f of files) follow(f.id, false);
    // Instances started later (a deploy, a restart, scaling) are followed from their first line.
    const poll = setInterval(() => {
      if (opts.instances) return;
      void this.instances().then((list) => list.forEach((i) => follow(i.id, true)), () => undefined);
    }, 1000);
    try {
      yield* queue.drain();
    } finally {
      clearInterval(poll);
    }
  }

  /** The health command runs in a shell beside the instance, with its PORT and GANTRY_INSTANCE (the agent adds them). */
  protected probeWhere(): AgentProbeWhere {
    return { kind: 'host', env: baseEnv() };
  }

  async markCurrent(release: ReleaseRef): Promise<void> {
    // Capistrano-style `current` link, swapped atomically with rename(2).
    const tmp = `${this.paths.currentLink}.tmp`;
    rmSync(tmp, { force: true });
    symlinkSync(join('releases', release.id), tmp);
    renameSync(tmp, this.paths.currentLink);
  }

  shutdown(timeoutMs: number): Promise<void> {
    return this.router.shutdown(timeoutMs);
  }

}
