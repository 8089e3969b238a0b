/**
 * An agent whose shutdown fails partway (its dir deleted under it: the state it
 * persists has nowhere to go) still exits: it used to stay running, deaf to every
 * later SIGTERM. A real agent on 127.0.0.1, ended by its pid.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The built code: the agent is spawned from dist/agent/main.js.
import { AgentClient } from '../../dist/agent/client.js';
import { pidAlive as alive } from '../../dist/core/pid.js';


describe('agent shutdown', () => {
  it('exits on SIGTERM even when its dir was deleted under it', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gantry-agent-shutdown-'));
    const agent = await AgentClient.ensure(join(dir, 'agent'), { host: '127.0.0.1', port: 0 });
    const pid = agent.info.pid;
    try {
      rmSync(dir, { recursive: true, force: true });
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid)).toBe(false);
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});
