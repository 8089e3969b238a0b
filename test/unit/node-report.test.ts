/** Issue 15 point 2: the terminal shows one line per node of a many-node target (the --json document carries `nodes` as is). */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { printDeployResult } from '../../src/cli/commands/common.js';
import { Output } from '../../src/cli/output.js';
import type { DeployResult } from '../../src/engine/index.js';

const result: DeployResult = {
  id: 'd-1', app: 'web', target: 'fleet', kind: 'deploy', release: 'r2', status: 'succeeded', duration_ms: 4200,
  nodes: [
    { node: 'web-1', batch: 0, status: 'succeeded', duration_ms: 1200 },
    { node: 'web-22', batch: 1, status: 'rolled_back', duration_ms: 3100, error: 'instance x did not become healthy' },
    { node: 'web-3', batch: 1, status: 'timed_out', duration_ms: 3000, error: 'node web-3 did not finish within strategy.node_timeout (3s)' },
    { node: 'web-4', batch: -1, status: 'not_started' },
  ],
};

function capture(json: boolean): string {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  printDeployResult(new Output(json), result);
  vi.restoreAllMocks();
  return out;
}

afterEach(() => vi.restoreAllMocks());

describe('per-node report', () => {
  it('prints each node with its batch, outcome, time and reason', () => {
    const text = capture(false);
    expect(text).toMatch(/web-1 +batch 1 +succeeded in 1\.2s/);
    expect(text).toMatch(/web-22 +batch 2 +rolled back in 3\.1s: instance x did not become healthy/);
    expect(text).toMatch(/web-3 +batch 2 +timed out in 3\.0s: node web-3 did not finish/);
    expect(text).toMatch(/web-4 +not started/);
  });

  it('--json carries the same nodes', () => {
    expect(JSON.parse(capture(true)).nodes).toEqual(result.nodes);
  });
});
