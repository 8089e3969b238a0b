/**
 * Issue 15 point 3 on the docker target: the node agent runs the manifest's
 * health command inside the instance's container (`docker exec`), with the
 * container's environment; the engine only reads the verdict.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample, gantry, killAgents } from '../helpers/cli.js';
import { baseImageProblem, cleanupApp } from '../helpers/docker.js';

const skip = baseImageProblem;
const itDocker = (name: string, fn: () => Promise<void>, timeout = 180_000) => (skip ? it.skip(`${name} (skipped: ${skip})`, fn) : it(name, fn, timeout));

const dir = copyExample('hello-node');
const app = `dk-health-cmd-${process.pid}`;
afterAll(async () => {
  await gantry(['stop', '--json'], { cwd: dir }).catch(() => undefined);
  killAgents(dir);
  if (!skip) await cleanupApp(app);
});

function write(command: string): void {
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [
      `app: ${app}`,
      'run: { command: node server.js, instances: 1, port: 3000 }',
      `health: { type: command, command: ${JSON.stringify(command)}, interval: 500ms, retries: 2, start_period: 3s }`,
      'env: { WHERE: in-the-container }',
      'strategy: { type: rolling, watch: 0s }',
      'targets:',
      '  box: { type: docker }',
    ].join('\n'),
  );
}

describe('docker target: command health probes run in the container', () => {
  itDocker('a command that only passes with the container\'s environment gates the deploy; a failing one names its output', async () => {
    write('test "$WHERE" = in-the-container');
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(d.json.status).toBe('succeeded');
    const st = await gantry(['status', '--json'], { cwd: dir });
    expect(st.json.targets[0].instances.map((i: any) => i.healthy)).toEqual([true]);

    write('echo "WHERE is $WHERE" >&2; exit 1');
    const bad = await gantry(['deploy', '--json', '--force'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.json.status).toBe('rolled_back');
    expect(bad.json.reason).toMatch(/did not become healthy: not healthy after \d+s: command failed: WHERE is in-the-container/);
  });
});
