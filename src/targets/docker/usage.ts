/**
 * CPU and memory of running containers, from the engine's stats API; when the engine answers a
 * container with no figures (a zeroed reading: it could not read the container's cgroups, as
 * happens here while systemd containers run beside it) and the engine is on this machine, from
 * /proc instead: every process whose /proc/<pid>/cgroup names the container's id.
 */
import type Docker from 'dockerode';
import { usageByContainerId } from '../shared/proc-usage.js';

interface ContainerStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: { inactive_file?: number; total_inactive_file?: number; cache?: number } };
}

/** Per instance id: CPU seconds so far and memory in use without the page cache (as `docker stats` shows it), where known. */
export interface ContainerUsage {
  cpuSeconds: Record<string, number>;
  memoryBytes: Record<string, number>;
}

export interface RunningContainer {
  id: string;
  name: string;
}

/** Docker answers a container whose figures it could not collect with a reading dated year 1 and all zeros. */
const usable = (s: ContainerStats | undefined): ContainerStats | undefined => (s && s.read !== undefined && !s.read.startsWith('0001-') ? s : undefined);

/** The container's full id, for finding its processes in /proc. */
const containerId = (docker: Docker, name: string): Promise<string | undefined> =>
  docker
    .getContainer(name)
    .inspect()
    .then((info) => info.Id, () => undefined);

/**
 * Where each container's figures came from, kept across the readings of one command: CPU % is the
 * difference of two readings, which means nothing when one came from the engine and one from /proc.
 */
export type UsageSources = Map<string, 'engine' | 'proc'>;

/**
 * One reading per running container, in parallel (`one-shot`: no wait for a second sample); `local`:
 * the engine runs on this machine. A container keeps the source of its first reading in `sources`.
 */
export async function readContainerUsage(docker: Docker, running: RunningContainer[], local: boolean, sources: UsageSources): Promise<ContainerUsage> {
  const once = (name: string): Promise<ContainerStats | undefined> =>
    docker
      .getContainer(name)
      .stats({ stream: false, 'one-shot': true } as { stream: false })
      .then((s) => usable(s as ContainerStats), () => undefined);
  const out: ContainerUsage = { cpuSeconds: {}, memoryBytes: {} };
  const fromProc: Array<{ id: string; containerId: string }> = [];
  await Promise.all(
    running.map(async ({ id, name }) => {
      if (sources.get(id) !== 'proc') {
        // A busy engine can fail one stats call: asked once more before /proc, or no figures.
        const stats = (await once(name)) ?? (await once(name));
        const ns = stats?.cpu_stats?.cpu_usage?.total_usage;
        const m = stats?.memory_stats;
        if (ns !== undefined && m?.usage !== undefined) {
          out.cpuSeconds[id] = ns / 1e9;
          out.memoryBytes[id] = Math.max(0, m.usage - (m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? m.stats?.cache ?? 0));
          sources.set(id, 'engine');
          return;
        }
        // Read from the engine before: no figures this time rather than a CPU difference across sources (a later reading starts afresh).
        if (sources.delete(id)) return;
      }
      const full = local ? await containerId(docker, name) : undefined;
      if (full) fromProc.push({ id, containerId: full });
    }),
  );
  if (fromProc.length) {
    const used = usageByContainerId(fromProc.map((c) => c.containerId));
    // No process of it in this /proc (the engine is not on this machine after all): no figures rather than zeros.
    for (const { id, containerId: full } of fromProc) {
      const u = used[full]!;
      if (u.rssBytes === 0) continue;
      sources.set(id, 'proc');
      out.cpuSeconds[id] = u.cpuSeconds;
      out.memoryBytes[id] = u.rssBytes;
    }
  }
  return out;
}
