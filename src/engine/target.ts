import type { ZodType } from 'zod';
import type { StoredManifest } from '../manifest/index.js';
import type { HealthSpec } from './health.js';

/**
 * The one interface every target implements. The engine drives strategies,
 * health gates, locks and records through it and never asks which target it is.
 *
 * Targets that route traffic through Gantry's proxy (process, docker, ssh)
 * expose instance-level primitives in their runtime; the engine composes them
 * into recreate / rolling / blue-green / canary.
 */
export interface Target<C = Record<string, unknown>> extends TargetDescriptor<C> {
  /**
   * Checks of this target against a valid manifest: what it needs from the
   * manifest (e.g. run.command), then live checks (reachability, credentials).
   * No side effects. `gantry validate` and deploy (before it starts) call it.
   */
  validate(cfg: C, ctx: ValidateContext): Promise<TargetProblem[]>;
  /** What this target needs on this machine, what is missing and how to fix it. */
  doctor(ctx: DoctorContext<C>): Promise<DoctorCheck[]>;
  /** Produce the release's artifact (a directory, an image, a chart ...). */
  build(input: BuildInput, ctx: TargetContext<C>): Promise<Artifact>;
  /** Retention: delete an artifact that is no longer kept. */
  removeArtifact(artifact: Artifact, ctx: TargetContext<C>): Promise<void>;
  /**
   * The artifact of a new release made from an earlier release's artifact, without
   * building (only env or secret values changed): e.g. a release directory of hard
   * links, the same image under the new release's tag. It must outlive the removal
   * of `previous` by retention. Absent: the target builds again.
   */
  reuseArtifact?(previous: Artifact, input: BuildInput, ctx: TargetContext<C>): Promise<Artifact>;
  /**
   * A handle for runtime operations on this app+target. On a many-node target it
   * answers for all nodes together (status, logs, the access point); rollouts use
   * the runtime of each node (see `nodes`).
   */
  runtime(ctx: TargetContext<C>): Promise<TargetRuntime>;
  /**
   * Many-node targets (`capabilities.nodes: 'many'`): the nodes the app runs on,
   * each with the instance primitives of a TargetRuntime on that node. The engine
   * runs each node's part of a plan on its runtime, in batches (strategy.batch,
   * parallel, max_failed, node_timeout), and reports per node.
   */
  nodes?(ctx: TargetContext<C>): Promise<TargetNode[]>;
  /**
   * Directories a backup must hold for this target: artifacts needed to roll
   * back without a rebuild, and the persistent data. `skip` names paths (relative to `dir`, `/`-separated)
   * a backup leaves out, such as unfinished work. Data that lives elsewhere (on remote hosts)
   * is brought into a local staging `dir` when `purpose` is 'backup', and sent back from it
   * by `commit()`, which a restore calls once it has written `dir` (the app is stopped then).
   */
  dataDirs?(ctx: TargetContext<C>, persist: string[], purpose?: 'backup' | 'restore'): Promise<DataDir[]>;
  /** What a build would use, for `gantry plan` (no side effect). */
  describeBuild?(input: BuildInput, ctx: TargetContext<C>): Record<string, unknown>;
  /** Publish a release's artifact (e.g. push an image to a registry). Absent: the target cannot push. */
  push?(input: PushInput, ctx: TargetContext<C>): Promise<{ reference: string; digest?: string }>;
  /**
   * `gantry destroy`, after the runtime's shutdown and every release's removeArtifact: remove what
   * else this target keeps for the app (agent and log directories, leftover builds, one-off
   * containers, the persistent data unless `keepData`). Returns what it removed, for the report.
   * Absent: only instances, agent and artifacts go.
   */
  destroy?(ctx: TargetContext<C>, opts: { keepData: boolean; persist: string[] }): Promise<string[]>;
}

/** Where a one-off command's standard streams go; `tty`: the command gets a terminal (stdin is one). */
export interface ExecIO {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  tty: boolean;
  /** The terminal's size, when `tty`. */
  columns?: number;
  rows?: number;
}

/** `gantry exec`: a command (argv, never through a shell) in a release's environment. */
export interface ExecRequest {
  release: ReleaseRef;
  argv: string[];
  /** Manifest env plus GANTRY_* variables. */
  env: Record<string, string>;
  secretEnv: Record<string, string>;
  /** Run beside (or inside) this running instance; absent: the runtime picks a running one of the release, or runs it on its own. */
  instance?: string;
  io: ExecIO;
}

/** Maintenance mode of the access point: requests get a 503 page while instances keep running. */
export interface MaintenanceState {
  message?: string;
  retryAfterSeconds: number;
  since: string;
}

export interface DataDir {
  name: string;
  dir: string;
  kind: 'artifacts' | 'data';
  skip?: (relPath: string) => boolean;
  commit?(): Promise<void>;
}

export interface TargetNode {
  /** Unique among the target's nodes; shown in plans and reports (e.g. a host name). */
  name: string;
  runtime(): Promise<TargetRuntime>;
}

export interface PushInput {
  release: string;
  artifact: Artifact;
  registry?: string;
  /** Registry credentials from Gantry's secret store; absent: the target's own sources (e.g. ~/.docker/config.json). */
  auth?: { username: string; password: string };
}

export type StrategyType = 'recreate' | 'rolling' | 'blue-green' | 'canary';

/**
 * What a target can do, declared, never inferred from its type (DESIGN.md, "The
 * Target contract: capabilities, not types"). The engine and the manifest
 * validator plan from these; no code anywhere branches on `type`.
 */
export interface TargetCapabilities {
  /** Where the app runs: one place, or many hosts/devices rolled out in batches. */
  nodes: 'one' | 'many';
  /** Who splits traffic: Gantry's proxy per instance, the platform between releases, or nobody. */
  traffic: 'instance' | 'release' | 'none';
  /** Who judges health: the engine's gates (probing through the node agent) or the platform. */
  health: 'engine' | 'target';
  /** The engine applies steps (push), or publishes a desired release and waits for reports (pull). */
  delivery: 'push' | 'pull';
  /** The rollout strategies this target can run. */
  strategies: readonly StrategyType[];
}

/** What the registry knows of a target type without loading its implementation. */
export interface TargetDescriptor<C = Record<string, unknown>> {
  readonly type: string;
  /** One line for `gantry doctor` and docs. */
  readonly summary: string;
  /** Validates `targets.<name>` of the manifest (minus `type`). */
  readonly configSchema: ZodType<C>;
  readonly capabilities: TargetCapabilities;
}

export interface EventSink {
  (level: 'info' | 'warn' | 'error', message: string, data?: unknown): void;
}

export interface TargetContext<C = Record<string, unknown>> {
  app: string;
  targetName: string;
  config: C;
  /** Directory holding the manifest (the app's source). */
  appDir: string;
  /** The manifest's build section (where a Dockerfile and the context are), for checks such as doctor's. */
  build?: { dockerfile?: string; context?: string; command?: string };
  /** Gantry's state directory (`.gantry` or $GANTRY_HOME). */
  stateDir: string;
  /** Target-owned persistent settings (e.g. the proxy port it reserved). */
  settings: Record<string, unknown>;
  saveSettings(next: Record<string, unknown>): void;
  emit: EventSink;
  /** A secret of Gantry's store for the target itself (e.g. an SSH key), in memory; absent when no store is open. */
  readSecret?: (name: string) => Promise<string>;
}

/** What a target's validate() may look at: the app's source and the parts of the manifest targets depend on. */
export interface ValidateContext {
  app: string;
  targetName: string;
  /** Directory holding the manifest (the app's source). */
  appDir: string;
  build?: { command?: string; dockerfile?: string; context?: string };
  run: { command?: string; port: number };
  persist: string[];
}

/** A problem found by a target's validate(). */
export interface TargetProblem {
  /** Path under `targets.<name>` (e.g. ["docker_host"]); with `scope: 'manifest'`, from the manifest's top (e.g. ["run", "command"]). */
  path: Array<string | number>;
  scope?: 'target' | 'manifest';
  message: string;
  hint: string;
  /**
   * 'error' (default): the manifest cannot work with this target; validate fails and deploy refuses.
   * 'warning': about this machine now (e.g. a Docker engine that does not answer), not the manifest: reported, never blocks.
   */
  level?: 'error' | 'warning';
}

export interface DoctorContext<C = Record<string, unknown>> {
  stateDir: string;
  /** A target of the manifest at hand: check what it points at (hosts, an engine), not only this machine. */
  target?: TargetContext<C>;
}

export interface DoctorCheck {
  name: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

export interface BuildInput {
  releaseId: string;
  sourceDir: string;
  build?: { command?: string; dockerfile?: string; context?: string };
  run?: { command?: string; port: number };
  env: Record<string, string>;
  /** Paths kept across releases (`persist`). */
  persist?: string[];
  /**
   * The release's whole resolved manifest (no secret values: `secrets` holds names), for targets
   * that render it into the platform's own description of the app (e.g. a Helm chart).
   */
  manifest?: StoredManifest;
  /** The git commit the code comes from, when the app is in a git work tree (e.g. for an image label). */
  source?: { commit: string; branch?: string; dirty: boolean };
}

/** What a target built. `ref` identifies it (a path, an image id ...). Must be JSON-serializable. */
export interface Artifact {
  kind: string;
  ref: string;
  [key: string]: unknown;
}

/** What the engine tells a runtime about a release when it starts an instance of it. */
export interface ReleaseRef {
  id: string;
  artifact: Artifact;
  run: { command?: string; port: number };
  /** The release's health check (targets with a native healthcheck mirror it). */
  health: HealthSpec;
  /** Paths kept across releases, mounted or linked into every instance. */
  persist: string[];
}

export interface InstanceRequest {
  id: string;
  index: number;
  release: ReleaseRef;
  /** Manifest env plus GANTRY_* variables; the target adds PORT. */
  env: Record<string, string>;
  /**
   * Secret values: they reach the app's environment (or files) and nowhere
   * else: never a label, a log line, a persisted file or an argv.
   */
  secretEnv: Record<string, string>;
  /**
   * Why the instance starts (the plan's kind) and how many instances of its release the plan
   * brings it to. A platform that runs one workload per release (e.g. a cluster) sizes, starts
   * or restarts that workload from these instead of counting instances one by one.
   */
  plan?: { kind: 'deploy' | 'rollback' | 'start' | 'stop' | 'restart' | 'scale'; count: number };
}

export interface InstanceHandle {
  id: string;
  release: string;
  /** Where the node agent probes health and the proxy sends traffic. */
  endpoint: { host: string; port: number };
}

export type InstanceRunState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ObservedInstance extends InstanceHandle {
  /** On a many-node target: the node it runs on. */
  node?: string;
  state: InstanceRunState;
  pid?: number;
  restarts: number;
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
}

export interface Route {
  instance: string;
  release: string;
  url: string;
  weight: number;
}

/** A workload the platform runs for a release (a Deployment of one track), with its pods. */
export interface PlatformWorkload {
  kind: string;
  name: string;
  /** The release whose image it runs, and its part in a rollout (stable, canary). */
  release?: string;
  track?: string;
  desired: number;
  ready: number;
  pods: Array<{ name: string; ready: boolean; restarts: number; phase: string; reason?: string }>;
}

/** A recent event of the platform about the app's objects (Warning ones explain most failures). */
export interface PlatformEvent {
  at?: string;
  type: string;
  reason: string;
  /** kind/name of the object it is about. */
  object: string;
  message: string;
  count: number;
}

export interface TrafficStats {
  releases: Array<{ release: string; requests: number; errors5xx: number; connectErrors: number; inflight: number; p50Ms: number; p90Ms: number; p99Ms: number; errorRate: number }>;
}

export interface LogLine {
  at?: string;
  /** On a many-node target: the node the line comes from. */
  node?: string;
  instance: string;
  /** `sys`: the supervisor's own lines (started, exited, restarting); `access`: a request through Gantry's proxy. */
  stream: 'out' | 'err' | 'sys' | 'access';
  text: string;
  /** An access log line: the request (the path without its query). */
  request?: { method: string; path: string; status: number; ms: number; release?: string };
}

/** Settings of Gantry's proxy from the manifest (`proxy:`); targets without that proxy ignore them. */
export interface RouterOptions {
  responseTimeoutMs: number;
  idleTimeoutMs: number;
}

/** What staging a release on a node sent. */
export interface StageResult {
  bytesSent: number;
  filesSent: number;
  filesTotal: number;
}

export interface TargetRuntime {
  /** Make sure the stable access point exists (starting Gantry's proxy if needed) with these settings; returns the access URL. */
  ensureRouter(opts?: RouterOptions): Promise<{ url: string }>;
  accessUrl(): Promise<string | undefined>;
  setRoutes(routes: Route[]): Promise<void>;
  routes(): Promise<Route[]>;
  /** Wait for in-flight requests of instances no longer routed (bounded). */
  drain(instanceIds: string[], timeoutMs: number): Promise<void>;
  startInstance(req: InstanceRequest): Promise<InstanceHandle>;
  /**
   * Optional: bring a release's artifact to where this runtime runs it (a transfer to a host),
   * ahead of its instances. A rollout plans a `stage` step per node when the runtime has it;
   * startInstance stages by itself what was not staged (a compensation, a heal).
   */
  stage?(release: ReleaseRef): Promise<StageResult>;
  /** Many-node runtimes: nodes the last read could not reach, with why (status shows them). */
  unreachableNodes?(): ReadonlyMap<string, string>;
  /**
   * Optional: the platform judges a canary step itself (its readiness, a metrics query), in place of
   * the engine's comparison of the proxy's per-release figures. Asked every few hundred ms of the step,
   * like the engine's own judgement; `inconclusive` extends a timed pause (bounded), `fail` rolls back.
   */
  judgeCanary?(step: { release: string; percent: number; stable?: string }): Promise<{ verdict: 'pass' | 'fail' | 'inconclusive'; reasons: string[] }>;
  stopInstance(id: string, timeoutMs: number): Promise<void>;
  /** Keep an unrouted instance running for `afterMs` (instant switch-back), then stop it, even if no Gantry command runs meanwhile. */
  stopInstanceLater(id: string, afterMs: number, timeoutMs: number): Promise<void>;
  /** Run a one-off command of a release (hooks such as migrations) in its environment; output is returned, not streamed. */
  runTask(task: { release: ReleaseRef; command: string; env: Record<string, string>; secretEnv: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number; output: string }>;
  instances(): Promise<ObservedInstance[]>;
  logs(opts: { lines: number; follow: boolean; instances?: string[]; signal?: AbortSignal }): AsyncIterable<LogLine>;
  /** The proxy's access log (stream `access`, one line per request), newest `lines` then followed. Absent: the target has none to read. */
  accessLog?(opts: { lines: number; follow: boolean; signal?: AbortSignal }): AsyncIterable<LogLine>;
  /** One health probe of an instance, where it runs (http, tcp, or the manifest's command in its environment). Never throws. */
  probe(instance: InstanceHandle, spec: HealthSpec): Promise<{ ok: boolean; detail: string }>;
  /**
   * Probe until healthy, giving up after the start period plus `retries` intervals, or at once when the
   * instance exits; `signal` ends the wait promptly. The engine judges the verdict, never opens a connection itself.
   */
  waitHealthy(instance: InstanceHandle, spec: HealthSpec, signal?: AbortSignal): Promise<{ ok: boolean; detail: string; ms: number }>;
  trafficStats(): Promise<TrafficStats | undefined>;
  /** Cumulative CPU seconds per running instance (autoscaling turns two readings into a percentage). */
  instanceCpuSeconds(): Promise<Record<string, number>>;
  /**
   * Optional: what the platform itself runs for the app (workloads per release and track, their pods'
   * readiness and restarts) and its recent events, for `gantry status`, when the platform runs the
   * instances (`health: 'target'`). Absent: the instances are the whole story.
   */
  platformStatus?(): Promise<{ workloads: PlatformWorkload[]; events: PlatformEvent[] }>;
  /** Optional: resident memory (bytes) per running instance, for `gantry status`. */
  instanceMemoryBytes?(): Promise<Record<string, number>>;
  /**
   * Optional: run a command in a release's environment with the caller's stdio (`gantry exec`),
   * interactive when `io.tty`; resolves with its exit code. Absent: the target cannot run one-off commands.
   */
  exec?(req: ExecRequest): Promise<{ exitCode: number }>;
  /** Optional: turn maintenance mode on (a state) or off (undefined) at the access point; it survives a restart of whatever serves it. */
  setMaintenance?(m: MaintenanceState | undefined): Promise<void>;
  /** Optional: the maintenance mode in effect, if any. */
  maintenance?(): Promise<MaintenanceState | undefined>;
  /** Optional: after a rollout succeeded, stop serving at an access address the manifest no longer names (a changed port). */
  retireFormerAccess?(): Promise<void>;
  /** Start a fresh measuring window (canary steps compare figures of the same window). */
  resetTrafficStats(): Promise<void>;
  /** Record on the target's side which release now serves (a `current` link, a label ...). */
  markCurrent(release: ReleaseRef): Promise<void>;
  /** Stop everything this target runs for the app, router included (`gantry stop`). */
  shutdown(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
