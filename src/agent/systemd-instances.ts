/**
 * The agent's instance backend on a systemd host (the ssh target): each
 * instance is a transient systemd service `<prefix>-<id>.service` started with
 * systemd-run, so systemd restarts it on failure (Restart=on-failure), limits
 * it (MemoryMax, CPUQuota), keeps its output in journald, and it outlives the
 * agent (a restarted agent adopts the units it finds running). The instance's
 * whole environment, secrets included, goes in an EnvironmentFile at 0600 in a
 * 0700 directory: never on a command line, never in `systemctl show`. The file
 * is removed when the instance stops.
 *
 * Shaped like the Supervisor (start/stop/get/list and its events) so the
 * daemon drives either the same way; state comes from `systemctl show`,
 * cached and refreshed by a poll and on demand.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import type { InstanceRunState, InstanceSpec, InstanceState } from '../supervisor/index.js';
import type { AgentResources } from './protocol.js';

export interface SystemdInstanceSpec extends InstanceSpec {
  resources?: AgentResources;
  /** A restored instance: adopt its unit if it runs, else start it with the env file already on disk (it holds the secrets). */
  adopt?: boolean;
}

/** What `systemctl show` tells of one unit. */
interface UnitView {
  activeState: string;
  subState: string;
  mainPid: number;
  restarts: number;
  startedAt?: string;
  exitCode?: string;
  exitStatus?: number;
  exitAt?: string;
}

const SHOW_PROPS = ['Id', 'LoadState', 'ActiveState', 'SubState', 'MainPID', 'NRestarts', 'ExecMainStartTimestamp', 'ExecMainCode', 'ExecMainStatus', 'ExecMainExitTimestamp'];
const UNIT_ID_RE = /^[A-Za-z0-9_.:@-]{1,200}$/;
const ENV_KEY_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * The background poll only notices exits and restarts between requests (for the agent's log and
 * state file); every API read refreshes on demand. Each poll is a `systemctl show` process on the
 * host, so a faster one costs every host of a fleet CPU all the time.
 */
const POLL_MS = 5_000;
/** systemd's journal message "Main process exited, code=..., status=..." (fields EXIT_CODE, EXIT_STATUS). */
const PROCESS_EXIT_MESSAGE_ID = '98e322203f7a4ed290d09fe03c09fe15';
const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, n]) => [n, name]));

function run(file: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 1 ? err.message : '') });
    });
  });
}

/** A value as systemd's EnvironmentFile reads it: double-quoted, with \ " $ ` escaped (newlines kept inside the quotes). */
export function envFileLine(key: string, value: string): string {
  if (!ENV_KEY_RE.test(key)) throw new GantryError('MANIFEST_INVALID', `environment variable name ${JSON.stringify(key)} is not valid`, 'names are letters, digits and _, not starting with a digit');
  if (value.includes('\0')) throw new GantryError('MANIFEST_INVALID', `environment variable ${key} contains a NUL byte`, 'remove the NUL byte');
  return `${key}="${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"\n`;
}

/**
 * An argument of a command systemd runs (systemd-run's command, a unit's ExecStart=): systemd
 * expands `$VAR` and `${VAR}` there before the program starts (systemd-run has no way to turn
 * that off before v254), and `$$` is its literal `$`. So every `$` is doubled and the program
 * (often `/bin/sh -c`, which then does its own expansion) gets the text as written. `%`
 * specifiers are expanded in unit files only, not in the command of a transient unit: a unit
 * file's ExecStart= also needs `%` as `%%` (Gantry writes only validated paths there).
 */
export function systemdLiteral(arg: string): string {
  return arg.replace(/\$/g, '$$$$');
}

/** `systemctl show --timestamp=unix` writes "@<seconds>". */
function systemdTime(v: string | undefined): string | undefined {
  const secs = v?.startsWith('@') ? Number(v.slice(1)) : NaN;
  return Number.isFinite(secs) && secs > 0 ? new Date(secs * 1000).toISOString() : undefined;
}

function parseShow(text: string): Map<string, UnitView | undefined> {
  const out = new Map<string, UnitView | undefined>();
  for (const block of text.split(/\n\n+/)) {
    const p = Object.fromEntries(
      block
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    if (!p.Id) continue;
    if (p.LoadState === 'not-found') {
      out.set(p.Id, undefined);
      continue;
    }
    out.set(p.Id, {
      activeState: p.ActiveState ?? 'inactive',
      subState: p.SubState ?? 'dead',
      mainPid: Number(p.MainPID ?? 0),
      restarts: Number(p.NRestarts ?? 0) || 0,
      startedAt: systemdTime(p.ExecMainStartTimestamp),
      exitCode: p.ExecMainCode,
      exitStatus: p.ExecMainStatus === undefined ? undefined : Number(p.ExecMainStatus),
      exitAt: systemdTime(p.ExecMainExitTimestamp),
    });
  }
  return out;
}

function runState(u: UnitView | undefined): InstanceRunState {
  if (!u) return 'stopped';
  if (u.activeState === 'active') return 'running';
  if (u.activeState === 'activating') return u.subState === 'auto-restart' ? 'backoff' : 'starting';
  if (u.activeState === 'deactivating') return 'stopping';
  return 'stopped';
}

function exitOf(how: 'exited' | 'killed', status: number, at: string): NonNullable<InstanceState['lastExit']> {
  return how === 'exited' ? { code: status, signal: null, at } : { code: null, signal: SIGNAL_NAMES.get(status) ?? `signal ${status}`, at };
}

/** ExecMainCode: 1 exited (status = exit code), 2 killed / 3 dumped (status = signal number). Reset when systemd restarts the unit. */
function lastExit(u: UnitView | undefined): InstanceState['lastExit'] {
  if (!u || !u.exitAt || u.exitCode === undefined || u.exitCode === '0') return undefined;
  return exitOf(u.exitCode === '1' ? 'exited' : 'killed', u.exitStatus ?? 0, u.exitAt);
}

/** The unit's last process exit as systemd logged it: what survives a restart of the unit. */
async function loggedExit(unit: string): Promise<InstanceState['lastExit']> {
  const r = await run('journalctl', ['--no-pager', '-o', 'json', '-n', '1', '-u', unit, `MESSAGE_ID=${PROCESS_EXIT_MESSAGE_ID}`]);
  try {
    const e = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { EXIT_CODE?: string; EXIT_STATUS?: string; __REALTIME_TIMESTAMP?: string };
    const at = new Date(Number(e.__REALTIME_TIMESTAMP ?? 0) / 1000).toISOString();
    return e.EXIT_CODE ? exitOf(e.EXIT_CODE === 'exited' ? 'exited' : 'killed', Number(e.EXIT_STATUS ?? 0), at) : undefined;
  } catch {
    return undefined;
  }
}

export class SystemdInstances extends EventEmitter {
  private readonly specs = new Map<string, SystemdInstanceSpec>();
  private readonly views = new Map<string, UnitView | undefined>();
  private readonly stopping = new Set<string>();
  /** The exit that made systemd restart an instance, read from the journal once per restart count. */
  private readonly restartExits = new Map<string, { restarts: number; exit: InstanceState['lastExit'] }>();
  private poll?: NodeJS.Timeout;

  constructor(private readonly opts: { unitPrefix: string; envDir: string; log: (m: string) => void }) {
    super();
    if (!UNIT_ID_RE.test(opts.unitPrefix)) throw new GantryError('INTERNAL', `invalid unit prefix ${opts.unitPrefix}`);
    mkdirSync(opts.envDir, { recursive: true, mode: 0o700 });
    chmodSync(opts.envDir, 0o700);
  }

  unitOf(id: string): string {
    if (!UNIT_ID_RE.test(id)) throw new GantryError('INTERNAL', `instance id ${JSON.stringify(id)} cannot name a systemd unit`);
    return `${this.opts.unitPrefix}${id}.service`;
  }

  envFileOf(id: string): string {
    return join(this.opts.envDir, `${id}.env`);
  }

  private writeEnvFile(id: string, env: Record<string, string>): string {
    const file = this.envFileOf(id);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Object.entries(env).map(([k, v]) => envFileLine(k, v)).join(''), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
    return file;
  }

  async start(spec: SystemdInstanceSpec): Promise<InstanceState> {
    const unit = this.unitOf(spec.id);
    this.specs.set(spec.id, spec);
    this.ensurePolling();
    await this.refresh([spec.id]);
    if (spec.adopt && runState(this.views.get(unit)) !== 'stopped') {
      this.opts.log(`adopted running unit ${unit}`);
      return this.get(spec.id)!;
    }
    // The env file a restored instance was started with holds its secrets: keep it.
    const envFile = spec.adopt && existsSync(this.envFileOf(spec.id)) ? this.envFileOf(spec.id) : this.writeEnvFile(spec.id, spec.env);
    // A failed unit of the same name (an earlier run) would block the new one.
    await run('systemctl', ['reset-failed', unit]);
    const props = [
      'Restart=on-failure',
      `RestartSec=${Math.max(1, Math.round(DEFAULTS.supervisor.backoffInitialMs / 1000))}`,
      `EnvironmentFile=${envFile}`,
      `TimeoutStopSec=${Math.ceil(DEFAULTS.strategy.stopTimeoutMs / 1000)}`,
      'CPUAccounting=yes',
      'MemoryAccounting=yes',
      ...(spec.resources?.memoryMaxBytes ? [`MemoryMax=${spec.resources.memoryMaxBytes}`] : []),
      ...(spec.resources?.cpuQuotaPercent ? [`CPUQuota=${spec.resources.cpuQuotaPercent}%`] : []),
    ];
    const args = ['--unit', unit, '--description', `Gantry instance ${spec.id}`, '--quiet', '--working-directory', spec.cwd, ...props.flatMap((p) => ['--property', p]), '--', '/bin/sh', '-c', systemdLiteral(spec.command)];
    const r = await run('systemd-run', args);
    if (r.code !== 0) {
      rmSync(envFile, { force: true });
      this.specs.delete(spec.id);
      throw new GantryError('START_FAILED', `systemd could not start ${unit}: ${r.stderr.trim()}`, `journalctl -u ${unit} on the host`);
    }
    this.emit('spawn', spec.id, 0);
    await this.refresh([spec.id]);
    return this.get(spec.id)!;
  }

  /** SIGTERM to the unit's processes (systemctl stop), SIGKILL after timeoutMs; then the unit and its env file are gone. */
  async stop(id: string, opts: { timeoutMs: number }): Promise<InstanceState> {
    const unit = this.unitOf(id);
    this.stopping.add(id);
    try {
      await run('systemctl', ['stop', '--no-block', unit]);
      const deadline = Date.now() + opts.timeoutMs;
      await this.refresh([id]);
      while (runState(this.views.get(unit)) !== 'stopped' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        await this.refresh([id]);
      }
      if (runState(this.views.get(unit)) !== 'stopped') {
        this.opts.log(`${unit} did not stop within ${opts.timeoutMs}ms: SIGKILL`);
        await run('systemctl', ['kill', '--signal', 'SIGKILL', unit]);
        await run('systemctl', ['stop', unit]);
      }
      const last = this.get(id);
      await run('systemctl', ['reset-failed', unit]);
      rmSync(this.envFileOf(id), { force: true });
      this.specs.delete(id);
      this.views.delete(unit);
      this.restartExits.delete(id);
      this.emit('exit', id, last?.lastExit?.code ?? 0, last?.lastExit?.signal ?? null);
      return { ...(last ?? { id, restarts: 0, spec: { id, cwd: '', command: '', env: {}, logFile: '' } }), state: 'stopped' };
    } finally {
      this.stopping.delete(id);
    }
  }

  async stopAll(opts: { timeoutMs: number }): Promise<void> {
    await Promise.all([...this.specs.keys()].map((id) => this.stop(id, opts)));
    clearInterval(this.poll);
    this.poll = undefined;
  }

  /** Stops watching; the units keep running (the agent restarts or is replaced). */
  detach(): void {
    clearInterval(this.poll);
    this.poll = undefined;
  }

  get(id: string): InstanceState | undefined {
    const spec = this.specs.get(id);
    if (!spec) return undefined;
    const u = this.views.get(this.unitOf(id));
    const state = this.stopping.has(id) && runState(u) !== 'stopped' ? 'stopping' : runState(u);
    return {
      id,
      pid: u?.mainPid || undefined,
      state,
      restarts: u?.restarts ?? 0,
      startedAt: u?.startedAt,
      lastExit: lastExit(u) ?? (u && u.restarts > 0 ? this.restartExits.get(id)?.exit : undefined),
      // The env (with secrets) stays in the env file, not in what the agent hands around.
      spec: { id, cwd: spec.cwd, command: spec.command, env: {}, logFile: spec.logFile },
    };
  }

  list(): InstanceState[] {
    return [...this.specs.keys()].map((id) => this.get(id)!);
  }

  /** Reads the units' state from systemd now (all instances, or these). */
  async refresh(ids: string[] = [...this.specs.keys()]): Promise<void> {
    if (ids.length === 0) return;
    const units = ids.map((id) => this.unitOf(id));
    const r = await run('systemctl', ['show', '--timestamp=unix', ...SHOW_PROPS.flatMap((p) => ['-p', p]), ...units]);
    const seen = parseShow(r.stdout);
    for (const unit of units) {
      const before = this.views.get(unit);
      const now = seen.get(unit);
      this.views.set(unit, now);
      const id = ids[units.indexOf(unit)]!;
      if (now && now.restarts > 0 && this.restartExits.get(id)?.restarts !== now.restarts) this.restartExits.set(id, { restarts: now.restarts, exit: await loggedExit(unit) });
      if (before && now && now.restarts > before.restarts) this.emit('restart', id, now.restarts, 0);
      else if (before && runState(before) !== 'stopped' && runState(now) === 'stopped' && !this.stopping.has(id)) this.emit('exit', id, lastExit(now)?.code ?? null, lastExit(now)?.signal ?? null);
    }
  }

  private ensurePolling(): void {
    this.poll ??= setInterval(() => void this.refresh().catch(() => undefined), POLL_MS);
    this.poll.unref();
  }
}
