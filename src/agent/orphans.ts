/**
 * Process groups an agent left behind when it died (SIGKILL, OOM): found from
 * the agent's state file, and stopped only once /proc says they are still
 * ours (same start time, GANTRY_INSTANCE in their environment), since a pid
 * may have been reused meanwhile.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from '../core/pid.js';
import { groupAlive, signalGroup } from '../supervisor/process-group.js';
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
 * Stop every process group of these recorded instances that still runs:
 * SIGTERM, then SIGKILL after timeoutMs. Returns the process groups stopped.
 */
export async function reapOrphans(recorded: RecordedProcess[], timeoutMs = 5_000): Promise<number[]> {
  // Only recorded pids (the agent records each child as it spawns): scanning every process's environ can
  // block for minutes on a busy host.
  const groups = recorded.filter(stillOurs).map((p) => p.pid!);
  if (groups.length === 0) return [];
  for (const g of groups) signalGroup(g, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  const anyAlive = async (): Promise<boolean> => (await Promise.all(groups.map((g) => groupAlive(g)))).some(Boolean);
  while (Date.now() < deadline && (await anyAlive())) await new Promise((r) => setTimeout(r, 50));
  for (const g of groups) if (await groupAlive(g)) signalGroup(g, 'SIGKILL');
  return groups;
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
