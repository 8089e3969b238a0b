// HAProxy (Debian's `haproxy`) as a peer reverse proxy: one process, a thread per
// CPU (its default), keep-alive to the app reused across client connections.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awaitPeerUp } from './peer-process.js';

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
  return awaitPeerUp('haproxy', child, listenPort, () => stderr.trim() || 'no output');
}
