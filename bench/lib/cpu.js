// CPU time of a process and its descendants, read from /proc/<pid>/stat (utime +
// stime, as pidstat does): the proxy section divides it by the requests served.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks;
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** [ppid, utime + stime in ticks] of a pid, or undefined when it is gone. */
function statOf(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing paren.
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return [Number(f[1]), Number(f[11]) + Number(f[12])];
  } catch {
    return undefined;
  }
}

/** root and every descendant, minus `exclude` (and their descendants). */
export function processTree(root, exclude = []) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = statOf(Number(name));
    if (st === undefined) continue;
    if (!children.has(st[0])) children.set(st[0], []);
    children.get(st[0]).push(Number(name));
  }
  const skip = new Set(exclude);
  const out = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift();
    if (skip.has(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Summed CPU milliseconds (user + system) of the given pids as of now. */
export function cpuMs(pids) {
  let t = 0;
  for (const pid of pids) t += statOf(pid)?.[1] ?? 0;
  return (t * 1000) / clockTicks();
}

/**
 * CPU milliseconds of this process's children that ended and were waited for (cutime +
 * cstime of /proc/self/stat): a CLI the bench ran, with what it ran and waited for itself.
 */
export function endedChildrenCpuMs() {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / clockTicks();
}

/** The file holding a container's CPU time (cgroup v1 cpuacct or v2 cpu.stat), or undefined. */
export function containerCpuFile(id) {
  for (const f of [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`]) {
    try {
      readFileSync(f);
      return f;
    } catch {
      /* not this layout */
    }
  }
  return undefined;
}

/** Summed CPU milliseconds of containers, from the files containerCpuFile found. */
export function containersCpuMs(files) {
  let ms = 0;
  for (const f of files) {
    try {
      const text = readFileSync(f, 'utf8');
      ms += f.endsWith('cpu.stat') ? Number(/usage_usec (\d+)/.exec(text)?.[1] ?? 0) / 1000 : Number(text) / 1e6;
    } catch {
      /* the container is gone */
    }
  }
  return ms;
}
