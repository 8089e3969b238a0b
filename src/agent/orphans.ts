/**
 * Process groups an agent left behind when it died (SIGKILL, OOM, reboot of
 * the agent alone): found from the agent's state file and from the
 * GANTRY_INSTANCE marker in /proc/<pid>/environ, and stopped only once /proc
 * says they are still ours (a pid may have been reused meanwhile).
 */
import { existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../core/pid.js';
import { AGENT_INFO_FILE, AGENT_STATE_FILE, type AgentPersistedState } from './protocol.js';

/** What the state file records of each live instance process (its pid is its process group id). */
export interface RecordedProcess {
  id: string;
  pid?: number;
  /** Start time of the pid in clock ticks since boot (/proc/<pid>/stat field 22): tells a reused pid apart. */
  pidStart?: string;
}

/** Fields of /proc/<pid>/stat after "(comm)": [state, ppid, pgrp, ...]; undefined if the pid is gone. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The pid's start time (clock ticks since boot), recorded beside the pid. */
export function processStartTime(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

function environHas(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Is this recorded process still the instance it was (same start time, same GANTRY_INSTANCE)? */
export function stillOurs(p: RecordedProcess): boolean {
  if (!p.pid || !pidAlive(p.pid)) return false;
  if (p.pidStart !== undefined && processStartTime(p.pid) !== p.pidStart) return false;
  return environHas(p.pid, `GANTRY_INSTANCE=${p.id}`);
}

/**
 * Process groups running one of these instances, found by the environment
 * marker every instance process carries (covers a child started just before
 * the agent could record it). Never the caller's own group.
 */
export function groupsMarkedWith(instanceIds: string[]): Map<number, string> {
  const groups = new Map<number, string>();
  if (instanceIds.length === 0) return groups;
  const markers = new Map(instanceIds.map((id) => [`GANTRY_INSTANCE=${id}`, id]));
  const own = statFields(process.pid)?.[2];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return groups; // no /proc: only recorded pids can be reaped
  }
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let env: string[];
    try {
      env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    } catch {
      continue;
    }
    const hit = env.find((e) => markers.has(e));
    if (!hit) continue;
    const f = statFields(pid);
    if (!f || f[0] === 'Z' || f[2] === own) continue;
    groups.set(Number(f[2]), markers.get(hit)!);
  }
  return groups;
}

function signal(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
}

function groupGone(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Stop every process group of these recorded instances that still runs:
 * SIGTERM, then SIGKILL after timeoutMs. Returns the process groups stopped.
 */
export async function reapOrphans(recorded: RecordedProcess[], timeoutMs = 5_000): Promise<number[]> {
  const groups = new Set<number>();
  for (const p of recorded) if (stillOurs(p)) groups.add(p.pid!);
  for (const pgid of groupsMarkedWith(recorded.map((p) => p.id)).keys()) groups.add(pgid);
  if (groups.size === 0) return [];
  for (const g of groups) signal(g, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && [...groups].some((g) => !groupGone(g) && groupsMarkedWith(recorded.map((p) => p.id)).has(g))) await new Promise((r) => setTimeout(r, 50));
  for (const g of groups) if (!groupGone(g)) signal(g, 'SIGKILL');
  return [...groups];
}

/**
 * `gantry stop` while no agent runs (it was killed): stop the process groups
 * its state file names and clear what it would restore, so a later agent
 * neither finds orphans holding ports nor brings a stopped app back.
 */
export async function reapFromState(agentDir: string, timeoutMs: number): Promise<number[]> {
  const file = join(agentDir, AGENT_STATE_FILE);
  if (!existsSync(file)) return [];
  // An agent that lives but did not answer still owns its children: never reap under it.
  try {
    const agentPid = (JSON.parse(readFileSync(join(agentDir, AGENT_INFO_FILE), 'utf8')) as { pid: number }).pid;
    if (pidAlive(agentPid) && environHas(agentPid, 'GANTRY_AGENT=1')) return [];
  } catch {
    /* no agent.json: no agent */
  }
  let saved: AgentPersistedState;
  try {
    saved = JSON.parse(readFileSync(file, 'utf8')) as AgentPersistedState;
  } catch {
    return [];
  }
  const reaped = await reapOrphans(saved.instances ?? [], timeoutMs);
  const cleared: AgentPersistedState = { instances: [], backends: [], containers: [] };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cleared, null, 2), { mode: 0o600 });
  renameSync(tmp, file);
  return reaped;
}
