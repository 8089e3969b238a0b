// HAProxy (Debian's `haproxy`) as a peer reverse proxy: one process, a thread per
// CPU (its default), keep-alive to the app reused across client connections.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { killPid, onCleanup } from './cleanup.js';
import { sleep } from './timing.js';

/** Start haproxy in the foreground (-db) in `dir`, proxying 127.0.0.1:listenPort to upstreamPort. */
export async function startHaproxy(bin, dir, listenPort, upstreamPort) {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(
    conf,
    `global
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:${listenPort}
  option forwardfor
  default_backend app
backend app
  server a 127.0.0.1:${upstreamPort}
`,
  );
  const child = spawn(bin, ['-db', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  const stop = onCleanup(`haproxy pid ${child.pid}`, () => (child.exitCode === null && child.signalCode === null ? killPid(child.pid, { graceMs: 3000 }) : undefined));
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
  throw new Error(`haproxy did not come up: ${stderr.trim() || 'no output'}`);
}
