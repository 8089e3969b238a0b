import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { DEFAULTS } from '../core/defaults.js';
import { GantryError } from '../core/errors.js';
import { Backoff } from './backoff.js';
import { LineSplitter, LogFile } from './log-file.js';
import { groupAlive, signalGroup } from './process-group.js';

export interface InstanceSpec {
  id: string;
  cwd: string;
  /** The user's shell command, run as ['/bin/sh', '-c', command]. */
  command: string;
  /** The complete environment (nothing is inherited from the host). */
  env: Record<string, string>;
  logFile: string;
  maxLogBytes?: number;
}

export type InstanceRunState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface InstanceState {
  id: string;
  pid?: number;
  state: InstanceRunState;
  restarts: number;
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  spec: InstanceSpec;
}

export interface SupervisorOptions {
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  backoffResetAfterMs?: number;
}

interface Instance {
  readonly spec: InstanceSpec;
  state: InstanceRunState;
  restarts: number;
  startedAt?: string;
  startedAtMs: number;
  lastExit?: InstanceState['lastExit'];
  child?: ChildProcess;
  /** Process group id of the current (or last) run; equals the shell's pid. */
  pgid?: number;
  /** Resolves when the current child has exited and its pipes closed. */
  exited?: Promise<void>;
  timer?: NodeJS.Timeout;
  stopRequested: boolean;
  stopping?: Promise<InstanceState>;
  readonly backoff: Backoff;
  readonly log: LogFile;
}

/** How often stop() checks whether the whole process group is gone. */
const GROUP_POLL_MS = 25;
/** After SIGKILL, how long stop() still waits for the group and the pipes. */
const KILL_GRACE_MS = 2_000;

/**
 * Runs instances as detached process groups, logs their output, restarts them
 * when they exit unasked (exponential backoff) and stops them by group
 * (SIGTERM, then SIGKILL after a timeout).
 *
 * Events: 'spawn' (id, pid) once a child exists (its pid is also its process
 * group id); 'exit' (id, code, signal) after every exit; 'restart' (id,
 * attempt, delayMs) when a restart is scheduled.
 */
export class Supervisor extends EventEmitter {
  private readonly instances = new Map<string, Instance>();
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly backoffResetAfterMs: number;

  constructor(opts: SupervisorOptions = {}) {
    super();
    this.backoffInitialMs = opts.backoffInitialMs ?? DEFAULTS.supervisor.backoffInitialMs;
    this.backoffMaxMs = opts.backoffMaxMs ?? DEFAULTS.supervisor.backoffMaxMs;
    this.backoffResetAfterMs = opts.backoffResetAfterMs ?? DEFAULTS.supervisor.backoffResetAfterMs;
  }

  /** Spawns the instance now. An id may be reused once its previous instance is stopped. */
  start(spec: InstanceSpec): InstanceState {
    validateSpec(spec);
    const existing = this.instances.get(spec.id);
    if (existing !== undefined && existing.state !== 'stopped') {
      throw new GantryError('START_FAILED', `instance ${spec.id} is already ${existing.state}`, 'stop it first or use another id');
    }
    const frozen: InstanceSpec = Object.freeze({ ...spec, env: Object.freeze({ ...spec.env }) });
    const inst: Instance = {
      spec: frozen,
      state: 'starting',
      restarts: 0,
      startedAtMs: 0,
      stopRequested: false,
      backoff: new Backoff(this.backoffInitialMs, this.backoffMaxMs, this.backoffResetAfterMs),
      log: new LogFile(frozen.logFile, frozen.maxLogBytes ?? DEFAULTS.supervisor.logMaxBytes),
    };
    this.instances.set(spec.id, inst);
    this.spawn(inst);
    return snapshot(inst);
  }

  /** SIGTERM to the process group, SIGKILL after timeoutMs; resolves once it is gone. Never restarts it. */
  stop(id: string, opts: { timeoutMs: number }): Promise<InstanceState> {
    const inst = this.instances.get(id);
    if (inst === undefined) return Promise.reject(new GantryError('NOT_DEPLOYED', `no instance ${id}`, 'list instances to see what runs'));
    if (inst.stopping) return inst.stopping;
    inst.stopRequested = true;
    if (inst.state === 'stopped') return Promise.resolve(snapshot(inst));
    if (inst.state === 'backoff') {
      clearTimeout(inst.timer);
      inst.timer = undefined;
      inst.log.line('sys', 'stopped while waiting to restart');
      inst.state = 'stopped';
      return inst.log.close().then(() => snapshot(inst));
    }
    inst.state = 'stopping';
    inst.stopping = this.terminate(inst, opts.timeoutMs).finally(() => {
      inst.stopping = undefined;
    });
    return inst.stopping;
  }

  async stopAll(opts: { timeoutMs: number }): Promise<void> {
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id, opts)));
  }

  get(id: string): InstanceState | undefined {
    const inst = this.instances.get(id);
    return inst && snapshot(inst);
  }

  list(): InstanceState[] {
    return [...this.instances.values()].map(snapshot);
  }

  private spawn(inst: Instance): void {
    const { spec } = inst;
    inst.state = 'starting';
    inst.startedAtMs = Date.now();
    inst.startedAt = new Date(inst.startedAtMs).toISOString();
    let child: ChildProcess;
    try {
      // argv, not a shell string: only `command` (the user's own shell text) is interpreted by a shell.
      child = spawn('/bin/sh', ['-c', spec.command], {
        cwd: spec.cwd,
        env: { ...spec.env },
        detached: true, // own process group: killable as a group, survives the host's crash
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      inst.log.line('sys', `spawn failed: ${(err as Error).message}`);
      this.onExit(inst, undefined, null, null);
      return;
    }
    inst.child = child;
    inst.pgid = child.pid;
    // Told at once, so whoever records process groups (the agent's state file) never misses a live one.
    if (child.pid !== undefined) this.emit('spawn', spec.id, child.pid);

    let gone = false;
    let resolveExited!: () => void;
    const exitedAndClosed = new Promise<void>((r) => (resolveExited = r));
    inst.exited = exitedAndClosed;
    const onGone = (code: number | null, signal: string | null): void => {
      if (gone) return;
      gone = true;
      this.onExit(inst, child, code, signal);
    };

    const out = new LineSplitter(inst.log, 'out');
    const err = new LineSplitter(inst.log, 'err');
    const pump = (stream: NodeJS.ReadableStream | null, splitter: LineSplitter): void => {
      if (!stream) return;
      stream.on('data', (chunk: Buffer) => {
        if (!splitter.push(chunk)) {
          // The disk is behind: stop reading; the app blocks on its pipe instead of us buffering without bound.
          stream.pause();
          inst.log.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => splitter.end());
      stream.on('error', () => undefined);
    };
    pump(child.stdout, out);
    pump(child.stderr, err);

    child.once('spawn', () => {
      if (inst.child === child && inst.state === 'starting') inst.state = 'running';
      inst.log.line('sys', `started pid ${child.pid}: ${spec.command}`);
    });
    child.once('error', (e) => {
      // Spawn failed (bad cwd, no /bin/sh): no 'exit' will follow.
      inst.log.line('sys', `spawn failed: ${e.message} (cwd ${spec.cwd})`);
      if (child.pid === undefined) {
        onGone(null, null);
        resolveExited();
      }
    });
    child.once('exit', (code, signal) => onGone(code, signal));
    // 'close' = exited and both pipes drained (a surviving grandchild can hold them open; stop() bounds that wait).
    child.once('close', () => resolveExited());
  }

  private onExit(inst: Instance, child: ChildProcess | undefined, code: number | null, signal: string | null): void {
    if (inst.child !== child) return;
    inst.child = undefined;
    const at = new Date().toISOString();
    inst.lastExit = { code, signal, at };
    inst.log.line('sys', `exited code=${code} signal=${signal}`);
    if (!inst.stopRequested) {
      // The leader died on its own: whatever it left in its group would hold ports or files the next run needs.
      if (inst.pgid !== undefined) signalGroup(inst.pgid, 'SIGKILL');
      const delay = inst.backoff.next(Date.now() - inst.startedAtMs);
      const attempt = inst.backoff.attempt;
      inst.state = 'backoff';
      inst.log.line('sys', `restarting in ${delay}ms (attempt ${attempt})`);
      inst.timer = setTimeout(() => {
        inst.timer = undefined;
        if (inst.state !== 'backoff' || inst.stopRequested) return;
        inst.restarts++;
        this.spawn(inst);
      }, delay);
      this.emit('exit', inst.spec.id, code, signal);
      this.emit('restart', inst.spec.id, attempt, delay);
      return;
    }
    this.emit('exit', inst.spec.id, code, signal);
  }

  private async terminate(inst: Instance, timeoutMs: number): Promise<InstanceState> {
    const pgid = inst.pgid;
    const child = inst.child;
    const exited = inst.exited ?? Promise.resolve();
    if (child !== undefined && pgid !== undefined) {
      inst.log.line('sys', `stopping: SIGTERM to process group ${pgid}`);
      signalGroup(pgid, 'SIGTERM');
      const deadline = Date.now() + Math.max(0, timeoutMs);
      const clean = await waitGone(child, pgid, deadline);
      if (!clean) {
        inst.log.line('sys', `still running after ${timeoutMs}ms: SIGKILL to process group ${pgid}`);
        signalGroup(pgid, 'SIGKILL');
        await waitGone(child, pgid, Date.now() + KILL_GRACE_MS);
      }
      // Pipes close right after the group is gone; bounded in case something escaped the group.
      await Promise.race([exited, delay(KILL_GRACE_MS)]);
    }
    inst.state = 'stopped';
    await inst.log.close();
    return snapshot(inst);
  }
}

/** Waits until the leader has exited and no live process is left in its group, or the deadline passes. */
async function waitGone(child: ChildProcess, pgid: number, deadline: number): Promise<boolean> {
  // The leader's exit wakes the wait at once (the usual case: the app exits on SIGTERM); the poll covers the rest of the group.
  const leaderExited = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
  for (;;) {
    const leaderGone = child.exitCode !== null || child.signalCode !== null;
    if (leaderGone && !(await groupAlive(pgid))) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await (leaderGone ? delay(Math.min(GROUP_POLL_MS, left)) : Promise.race([leaderExited, delay(Math.min(GROUP_POLL_MS, left))]));
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function snapshot(inst: Instance): InstanceState {
  const s: InstanceState = { id: inst.spec.id, state: inst.state, restarts: inst.restarts, spec: inst.spec };
  if (inst.child?.pid !== undefined) s.pid = inst.child.pid;
  if (inst.startedAt !== undefined) s.startedAt = inst.startedAt;
  if (inst.lastExit !== undefined) s.lastExit = { ...inst.lastExit };
  return s;
}

function validateSpec(spec: InstanceSpec): void {
  const bad = (why: string): never => {
    throw new GantryError('START_FAILED', `invalid instance spec ${JSON.stringify(spec?.id)}: ${why}`);
  };
  if (typeof spec?.id !== 'string' || spec.id === '') bad('id must be a non-empty string');
  if (typeof spec.command !== 'string' || spec.command.trim() === '') bad('command must be a non-empty string');
  if (typeof spec.cwd !== 'string' || spec.cwd === '') bad('cwd must be a non-empty path');
  if (typeof spec.logFile !== 'string' || spec.logFile === '') bad('logFile must be a non-empty path');
  if (spec.env === null || typeof spec.env !== 'object') bad('env must be an object');
  for (const [k, v] of Object.entries(spec.env)) if (typeof v !== 'string') bad(`env ${k} must be a string`);
  if (spec.maxLogBytes !== undefined && !(spec.maxLogBytes > 0)) bad('maxLogBytes must be > 0');
}
