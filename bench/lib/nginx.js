// nginx as a peer reverse proxy, configured fairly: a worker per CPU, keep-alive both ways
// (upstream pool, and client connections not recycled after 1000 requests).
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { awaitPeerUp } from './peer-process.js';

/** Start nginx in the foreground in `dir`, proxying 127.0.0.1:listenPort to upstreamPort with keep-alive. */
export async function startNginx(bin, dir, listenPort, upstreamPort) {
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes auto;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${join(dir, 'body')};
  proxy_temp_path ${join(dir, 'proxy')};
  fastcgi_temp_path ${join(dir, 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'uwsgi')};
  scgi_temp_path ${join(dir, 'scgi')};
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`,
  );
  const child = spawn(bin, ['-p', dir, '-c', conf], { stdio: 'ignore' });
  return awaitPeerUp('nginx', child, listenPort, () => `see ${join(dir, 'logs', 'error.log')}`);
}
