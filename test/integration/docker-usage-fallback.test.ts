/**
 * CPU and memory of a container when the engine's stats API answers it with a zeroed reading (year 1,
 * all zeros): what Docker does here while systemd containers run beside it, which CI saw as a
 * `status` without RSS. The container and the engine are real; only the stats call is made to
 * answer as the engine did then (the failure cannot be called up on demand), and the figures must
 * come from /proc, from the container's own processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import { readContainerUsage, type UsageSources } from '../../src/targets/docker/usage.js';
import { baseImageProblem, docker } from '../helpers/docker.js';

const ZEROED = { read: '0001-01-01T00:00:00Z', cpu_stats: { cpu_usage: { total_usage: 0 } }, memory_stats: {} };
/** The real engine, except that stats() answers the zeroed reading. */
const zeroedStats = (real: Docker): Docker =>
  ({
    getContainer: (name: string) => {
      const c = real.getContainer(name);
      return { inspect: () => c.inspect(), stats: async () => ZEROED };
    },
  }) as unknown as Docker;

const skip = baseImageProblem;
const name = `gantry-usage-fallback-${process.pid}`;

describe.skipIf(skip)(`docker usage when the engine's stats are zeroed${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    // Node holding ~20 MB, in a child of the container's init: every process of the container counts.
    const c = await docker.createContainer({ name, Image: 'node:20-bookworm-slim', Cmd: ['sh', '-c', "node -e 'globalThis.keep = Buffer.alloc(20e6, 1); setInterval(() => {}, 1000)' & wait"] });
    await c.start();
    await new Promise((r) => setTimeout(r, 1000));
  }, 60_000);
  afterAll(async () => {
    await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
  });

  it('a local engine: figures from /proc, kept from there for the next reading; a remote one: no figures rather than zeros', async () => {
    const sources: UsageSources = new Map();
    const first = await readContainerUsage(zeroedStats(docker), [{ id: 'i1', name }], true, sources);
    expect(first.memoryBytes.i1).toBeGreaterThan(20e6);
    expect(first.cpuSeconds.i1).toBeGreaterThan(0);
    expect(sources.get('i1')).toBe('proc');
    const second = await readContainerUsage(docker, [{ id: 'i1', name }], true, sources);
    expect(second.cpuSeconds.i1).toBeGreaterThanOrEqual(first.cpuSeconds.i1!);
    expect(sources.get('i1')).toBe('proc');

    const remote = await readContainerUsage(zeroedStats(docker), [{ id: 'i1', name }], false, new Map());
    expect(remote).toEqual({ cpuSeconds: {}, memoryBytes: {} });
  });
});
