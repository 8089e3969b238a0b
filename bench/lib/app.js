// The baseline app started by hand: `node server.js` with PORT set, no Gantry.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { checkAborted, killPid, onCleanup } from './cleanup.js';
import { EXAMPLE_DIR } from './gantry.js';
import { median, now, sleep } from './timing.js';

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** One probe of an app's /health on loopback. */
export async function healthy(port) {
  try {
    const res = await request(`http://127.0.0.1:${port}/health`, { headersTimeout: 1000, bodyTimeout: 1000, reset: true });
    await res.body.dump();
    return res.statusCode >= 200 && res.statusCode < 400;
  } catch {
    return false;
  }
}

/**
 * Start hello-node by hand on `port` and poll /health every pollMs until it
 * answers. Resolves { child, pid, readyMs }; its cleanup kills it by pid.
 */
export async function startHandApp(port, { pollMs = 10, timeoutMs = 15_000 } = {}) {
  checkAborted();
  const t0 = now();
  const child = spawn(process.execPath, [join(EXAMPLE_DIR, 'server.js')], {
    cwd: EXAMPLE_DIR,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', GANTRY_RELEASE: 'bench-baseline' },
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = onCleanup(`hand-started app pid ${child.pid}`, async () => {
    if (running()) await killPid(child.pid, { graceMs: 6000 });
    if (running()) await Promise.race([exited, sleep(2000)]);
  });
  const deadline = t0 + timeoutMs;
  for (;;) {
    if (await healthy(port)) return { child, pid: child.pid, readyMs: now() - t0, stop };
    if (!running() || now() > deadline) {
      await stop();
      throw new Error(`hand-started app on ${port} did not become healthy`);
    }
    await sleep(pollMs);
  }
}

/** One floor sample: ms from spawning `node server.js` to its first healthy /health (10 ms polls). */
export async function floorSample() {
  const app = await startHandApp(await freePort());
  await app.stop();
  return app.readyMs;
}

/** The floor over several samples (in a block; sections also interleave samples with their runs). */
export async function measureFloor(runs) {
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await floorSample());
  return { samples, median: median(samples) };
}
