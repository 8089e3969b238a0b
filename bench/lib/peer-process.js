// A peer proxy started as a child process: registered for cleanup, then waited for until
// its /health answers 200 (bounded), or stopped with the reason it did not come up.
import { request } from 'undici';
import { killPid, onCleanup } from './cleanup.js';
import { sleep } from './timing.js';

/** `why()`: what to say when it does not come up (its output, or where its log is). */
export async function awaitPeerUp(name, child, listenPort, why) {
  const stop = onCleanup(`${name} pid ${child.pid}`, () => (child.exitCode === null && child.signalCode === null ? killPid(child.pid, { graceMs: 3000 }) : undefined));
  for (let i = 0; i < 100; i++) {
    try {
      const res = await request(`http://127.0.0.1:${listenPort}/health`, { headersTimeout: 1000, bodyTimeout: 1000 });
      await res.body.dump();
      if (res.statusCode === 200) return { pid: child.pid, url: `http://127.0.0.1:${listenPort}`, stop };
    } catch {
      /* not yet */
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  await stop();
  throw new Error(`${name} did not come up: ${why()}`);
}
