import type { HealthSpec } from '../core/health-spec.js';
/** Wire types between the CLI-side client and the host agent daemon. */
export interface AgentInfo {
  pid: number;
  adminPort: number;
  proxyHost: string;
  proxyPort: number;
  token: string;
  startedAt: string;
}

/** A health check as the manifest resolves it: the agent's own gate uses it. */
export type AgentHealth = HealthSpec;

/** Where a command probe runs: a shell on the agent's host (process instances, `env` plus PORT and GANTRY_INSTANCE) or an exec inside a container. */
export type AgentProbeWhere = { kind: 'host'; env?: Record<string, string> } | { kind: 'container'; container: string; dockerHost?: string };

/** One instance to probe (`POST /v1/health/probe`) or to wait for (`POST /v1/health/wait`). */
export interface AgentProbeRequest {
  instance: string;
  endpoint: { host: string; port: number };
  health: AgentHealth;
  where: AgentProbeWhere;
}

export interface AgentProbeResult {
  ok: boolean;
  detail: string;
}

/** The agent's verdict of a wait: `last` is the last probe's own detail (`detail` may add how long it waited). */
export interface AgentHealthVerdict extends AgentProbeResult {
  ms: number;
  last: string;
}

export interface AgentInstanceSpec {
  id: string;
  release: string;
  cwd: string;
  command: string;
  env: Record<string, string>;
  /** Secret values: given to the child's environment, kept in memory only, never written to disk. */
  secretEnv?: Record<string, string>;
  logFile: string;
  /** Fixed port for the instance; the agent picks a free one when absent. */
  port?: number;
  /** The release's health check: an instance the agent restores is routed again only once it passes it. */
  health?: AgentHealth;
  /** Limits, applied where the backend can (systemd: MemoryMax, CPUQuota). */
  resources?: AgentResources;
}

/** Resource limits of one instance. */
export interface AgentResources {
  memoryMaxBytes?: number;
  /** 100 = one CPU. */
  cpuQuotaPercent?: number;
}

/**
 * How the agent runs instances: `supervisor` (process groups it spawns and watches; the
 * process target) or `systemd` (a transient unit per instance; SSH hosts).
 */
export type AgentInstanceBackend = 'supervisor' | 'systemd';

/** A container the agent keeps running: started again when it exits behind Gantry's back (`docker kill`). */
export interface WatchedContainer {
  id: string;
  release: string;
  /** Container name on the engine. */
  container: string;
  dockerHost?: string;
  health?: AgentHealth;
  /** Host port the container publishes (where the gate probes). */
  port: number;
}

export interface AgentBackend {
  id: string;
  release: string;
  url: string;
  weight: number;
}

/** Timeouts of the agent's proxy, from the manifest's `proxy:` block (milliseconds, 0 = none). */
export interface AgentProxyTimeouts {
  responseTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface AgentInstanceState {
  id: string;
  release: string;
  port: number;
  pid?: number;
  state: 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped';
  restarts: number;
  startedAt?: string;
  lastExit?: { code: number | null; signal: string | null; at: string };
  logFile: string;
}

/** Maintenance mode of the agent's proxy (`gantry maintenance on`): every request gets a 503 page. */
export interface AgentMaintenance {
  message?: string;
  retryAfterSeconds: number;
  since: string;
}

/** What the agent persists so that a restarted agent can restore instances and routes. */
export interface AgentPersistedState {
  /** Survives a restart of the agent: the app stays in maintenance until `gantry maintenance off`. */
  maintenance?: AgentMaintenance;
  /** Without secret values; `hasSecrets` instances are left for the next Gantry command to start again. */
  instances: Array<Omit<AgentInstanceSpec, 'secretEnv'> & { port: number; pid?: number; pidStart?: string; hasSecrets?: boolean }>;
  backends: AgentBackend[];
  containers?: WatchedContainer[];
}

export const AGENT_INFO_FILE = 'agent.json';
export const AGENT_STATE_FILE = 'state.json';
export const AGENT_LOG_FILE = 'agent.log';
/** The proxy's access log: one JSON object per request (time, method, path without query, status, ms, instance, release). */
export const ACCESS_LOG_FILE = 'access.log';
export const AGENT_ERROR_FILE = 'agent.error.json';
