// The engine's own deploy, as the server runs it but without the API: a child process
// (pinned like the server) holding one Engine, deploying an app each time the bench
// asks on stdin, timed from the request (manifest load included) to the result.
//   node bench/lib/engine-deploys.js <dataDir> <app dir>
// stdin lines: "deploy" -> one JSON line {wall_ms, engine_ms, status, error}; "stop" -> stops the app, exits.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { ROOT } from './gantry.js';

const [dataDir, appDir] = process.argv.slice(2);
const { openEngineFace } = await import(join(ROOT, 'dist', 'server', 'engine-face.js'));
const { LOAD_OPTS } = await import(join(ROOT, 'dist', 'server', 'apps.js'));
const { loadManifest } = await import(join(ROOT, 'dist', 'manifest', 'index.js'));
const face = openEngineFace(dataDir);
const manifest = join(appDir, 'gantry.yaml');
let rev = 0;

const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
out({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'deploy') {
    appendFileSync(join(appDir, 'server.js'), `// engine bench revision ${++rev}\n`);
    const t0 = performance.now();
    try {
      const r = await face.engine.deploy(loadManifest(manifest, LOAD_OPTS), undefined, { wait: true });
      out({ wall_ms: performance.now() - t0, engine_ms: r.duration_ms, status: r.status, error: r.reason });
    } catch (err) {
      out({ wall_ms: performance.now() - t0, status: 'failed', error: err.message });
    }
  } else if (line === 'stop') {
    await face.engine.stop(loadManifest(manifest, LOAD_OPTS), undefined, { wait: true }).catch(() => undefined);
    break;
  }
}
face.close();
process.exit(0);
