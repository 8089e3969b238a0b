// A tiny app for Gantry's examples and tests: answers / and /health on $PORT
// and says which release it is, so a client can tell releases apart.
const http = require('node:http');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const port = Number(process.env.PORT || 3000);
const release = process.env.GANTRY_RELEASE || 'dev';
const instance = process.env.GANTRY_INSTANCE || 'local';
const greeting = process.env.GREETING || 'hello from node';
// For demos and tests of canary analysis: answer this share of requests to / with a 500.
const failRate = Number(process.env.FAIL_RATE || 0);
// For demos and tests of the post-switch watch: turn unhealthy this many ms after start.
const unhealthyAfterMs = Number(process.env.UNHEALTHY_AFTER_MS || 0);
const startedAt = Date.now();

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    const ok = !(unhealthyAfterMs > 0 && Date.now() - startedAt > unhealthyAfterMs);
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok, release }));
    return;
  }
  // For tests of secrets: proves the app got a value without ever printing it (a hash only).
  if (req.url === '/secret-sha256' && process.env.HASH_SECRET) {
    const name = process.env.HASH_SECRET;
    const fromFile = path.join('/run/secrets', name);
    const value = process.env[name] ?? (fs.existsSync(fromFile) ? fs.readFileSync(fromFile, 'utf8') : '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ name, sha256: crypto.createHash('sha256').update(value).digest('hex'), fromFile: process.env[name] === undefined }));
    return;
  }
  // For demos and tests of autoscaling: burn CPU for ?ms= milliseconds.
  if (req.url.startsWith('/burn')) {
    const ms = Math.min(1000, Number(new URL(req.url, 'http://x').searchParams.get('ms') || 20));
    const until = Date.now() + ms;
    while (Date.now() < until) Math.sqrt(Math.random());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ burned: ms, instance }));
    return;
  }
  // For benchmarks of a proxy in front of an app that waits (I/O, not CPU): answer after ?ms= milliseconds.
  if (req.url.startsWith('/sleep')) {
    const ms = Math.min(1000, Number(new URL(req.url, 'http://x').searchParams.get('ms') || 5));
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ slept: ms, instance }));
    }, ms);
    return;
  }
  // For tests of persistent data: a counter kept in DATA_DIR (default ./data).
  if (req.url === '/count') {
    const dir = process.env.DATA_DIR || 'data';
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'counter.txt');
    const n = (fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : 0) + 1;
    fs.writeFileSync(file, String(n));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ count: n, release }));
    return;
  }
  if (failRate > 0 && Math.random() < failRate) {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'injected failure', release }));
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message: greeting, release, instance }));
});

// Gantry sets HOST: 127.0.0.1 for local processes, 0.0.0.0 inside containers.
server.listen(port, process.env.HOST || '0.0.0.0', () => {
  console.log(`hello-node release ${release} instance ${instance} listening on ${port}`);
});

// Finish in-flight requests, then exit, when Gantry stops this instance.
process.on('SIGTERM', () => {
  console.log(`hello-node ${instance} stopping`);
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 5000).unref();
});
