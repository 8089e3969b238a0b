/**
 * Issue 21 point 2: once the new release serves, the old instance's drain and stop
 * go on beside the record (and the finishing work after it) instead of before it;
 * the deploy still returns only once the old instance is gone. The old instance here
 * takes a while to exit on SIGTERM, so the order shows in the stored steps.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../dist/store/index.js';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { get } from '../helpers/http.js';

const dir = copyExample('hello-node');
const APP = `retire-overlap-${process.pid}`;

afterAll(async () => {
  await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
  killAgents(dir);
});

function write(greeting: string): void {
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [`app: ${APP}`, 'run: { command: node slow-exit.js, instances: 1 }', 'health: { path: /health, interval: 200ms, timeout: 2s, retries: 2, start_period: 10s }', `env: { GREETING: "${greeting}" }`, 'strategy: { type: rolling, watch: 0s }', 'targets: { local: { type: process } }'].join('\n'),
  );
}

describe('the old instance retires beside the record', () => {
  it('records the new release while the old instance is still stopping, and returns once it is gone', async () => {
    // The example app, but on SIGTERM it closes its server and lingers a while before it exits.
    writeFileSync(join(dir, 'slow-exit.js'), ["require('./server.js');", "process.removeAllListeners('SIGTERM');", "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 1500));"].join('\n'));
    write('one');
    const first = await gantry(['deploy', '--json'], { cwd: dir });
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const url = JSON.parse(first.stdout).url as string;
    const before = JSON.parse((await gantry(['status', '--json'], { cwd: dir })).stdout) as { targets: Array<{ instances: Array<{ id: string; pid?: number }> }> };
    const oldPid = before.targets[0]!.instances[0]!.pid!;
    expect(oldPid).toBeGreaterThan(0);

    write('two');
    const second = await gantry(['deploy', '--json'], { cwd: dir });
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const result = JSON.parse(second.stdout) as { id: string; status: string };
    expect(result.status).toBe('succeeded');
    // Returned after the old instance was gone.
    expect(() => process.kill(oldPid, 0)).toThrow();
    expect(JSON.parse((await get(`${url}/`)).body).message).toBe('two');

    const store = new Store(join(dir, '.gantry', 'state.db'));
    try {
      const steps = store.listSteps(result.id);
      const stop = steps.find((s) => s.kind === 'stopInstance')!;
      const record = steps.find((s) => s.kind === 'record')!;
      expect(steps.every((s) => s.status === 'done'), JSON.stringify(steps)).toBe(true);
      // The record began before the old instance's stop ended (before: strictly after it).
      expect(record.startedAt! < stop.finishedAt!, JSON.stringify({ stop, record })).toBe(true);
      expect(record.finishedAt! <= stop.finishedAt!).toBe(true);
      // The deployment's end is after the stop's.
      expect(store.getDeployment(result.id)!.status).toBe('succeeded');
      const resultEvent = store.listEvents({ app: APP, target: 'local', deploymentId: result.id }).find((e) => e.step === 'result')!;
      expect(resultEvent.at >= stop.finishedAt!).toBe(true);
    } finally {
      store.close();
    }
  });
});
