import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU seconds used so far by each process group (an instance is a process
 * group led by its shell), summed over every process in it, from /proc.
 */
export function cpuSecondsByGroup(groups: number[]): Record<number, number> {
  const wanted = new Set(groups);
  const out: Record<number, number> = {};
  for (const g of groups) out[g] = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    } catch {
      continue;
    }
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pgrp = Number(fields[2]);
    if (!wanted.has(pgrp)) continue;
    out[pgrp]! += (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  }
  return out;
}

/** Resident memory (bytes) of each process group, summed over its processes (VmRSS in /proc/<pid>/status). */
export function rssBytesByGroup(groups: number[]): Record<number, number> {
  const wanted = new Set(groups);
  const out: Record<number, number> = {};
  for (const g of groups) out[g] = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (!wanted.has(pgrp)) continue;
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
      if (kb) out[pgrp]! += Number(kb) * 1024;
    } catch {
      continue; // gone meanwhile
    }
  }
  return out;
}
