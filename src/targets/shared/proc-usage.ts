import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** Each process /proc lists now (some may be gone by the time they are read). */
const pids = (): string[] => readdirSync('/proc').filter((p) => /^\d+$/.test(p));

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces: they start after the last ')'). */
function statFields(pid: string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // gone meanwhile
  }
}

const cpuSecondsOf = (fields: string[]): number => (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
const groupOf = (fields: string[]): number => Number(fields[2]);

/** Resident memory of one process (VmRSS in /proc/<pid>/status), 0 when it is gone. */
function rssBytesOf(pid: string): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** `measure` of each process summed per process group, over every process /proc lists. */
function sumByGroup(groups: number[], measure: (pid: string, fields: string[]) => number): Record<number, number> {
  const wanted = new Set(groups);
  const out: Record<number, number> = Object.fromEntries(groups.map((g) => [g, 0]));
  for (const pid of pids()) {
    const f = statFields(pid);
    if (f && wanted.has(groupOf(f))) out[groupOf(f)]! += measure(pid, f);
  }
  return out;
}

/** CPU seconds used so far by each process group (an instance of the process target is a group led by its shell). */
export const cpuSecondsByGroup = (groups: number[]): Record<number, number> => sumByGroup(groups, (_pid, f) => cpuSecondsOf(f));

/** Resident memory (bytes) of each process group, summed over its processes. */
export const rssBytesByGroup = (groups: number[]): Record<number, number> => sumByGroup(groups, (pid) => rssBytesOf(pid));

/**
 * CPU seconds and resident memory summed per container over every process whose
 * /proc/<pid>/cgroup names the container's id (all of its processes, whatever their group).
 */
export function usageByContainerId(ids: string[]): Record<string, { cpuSeconds: number; rssBytes: number }> {
  const out: Record<string, { cpuSeconds: number; rssBytes: number }> = Object.fromEntries(ids.map((id) => [id, { cpuSeconds: 0, rssBytes: 0 }]));
  for (const pid of pids()) {
    let cgroup: string;
    try {
      cgroup = readFileSync(`/proc/${pid}/cgroup`, 'latin1');
    } catch {
      continue;
    }
    const id = ids.find((c) => cgroup.includes(c));
    const f = id ? statFields(pid) : undefined;
    if (!id || !f) continue;
    out[id]!.cpuSeconds += cpuSecondsOf(f);
    out[id]!.rssBytes += rssBytesOf(pid);
  }
  return out;
}
