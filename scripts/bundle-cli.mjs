// Builds the CLI (dist/cli/main.js, tsc's output, and everything it imports) into one
// CommonJS script, dist/cli-bundle/main.cjs: bin/gantry.js compiles it with V8's code
// cache (src/core/code-cache.ts; Node 20 caches no code of ES modules), so a run reads
// one file and compiles nothing it compiled before. A lazily imported part (a command's
// module, a target) stays lazy: esbuild wraps it in a function run on first import.
// bin/gantry.js runs the bundle when it is at least as new as tsc's output (else the
// plain dist/cli/main.js).
import { build } from 'esbuild';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const outdir = join(dist, 'cli-bundle');

// Left to Node's resolution at run time: native add-ons and their optional parts, and
// packages that read files next to their own sources (served assets, worker scripts: synckit starts
// the PostgreSQL state store's worker, dist/store/pg/worker.js, which runs unbundled from dist/)
// or that only the server, ssh or kubernetes paths use (loaded lazily there anyway:
// the kubernetes models alone are 3 MB every run would read; the Kubernetes client loads only for its operations).
const EXTERNAL = ['kubernetes-models', 'kubernetes-models/*', '@kubernetes-models/*', '@kubernetes/client-node', 'better-sqlite3', 'ssh2', 'cpu-features', 'pg', 'pg-native', 'synckit', 'pino', 'pino-*', 'thread-stream', 'fastify', 'fastify-*', '@fastify/*', 'kysely', 'playwright-core', 'vite', 'esbuild', '*.node'];

// Our code finds files next to its compiled module (the agent, the reaper, package.json):
// each module's import.meta.url becomes the URL of its file under dist/, as if it had not moved.
const keepModuleUrl = {
  name: 'keep-module-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + '/') || args.path.startsWith(outdir)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!/import\.meta\.(url|dirname|filename)/.test(text)) return undefined;
      const url = `new URL(${JSON.stringify(relative(outdir, args.path).split('\\').join('/'))}, __gantryBundleUrl)`;
      const contents = text
        .replaceAll('import.meta.url', `${url}.href`)
        .replaceAll('import.meta.filename', `decodeURIComponent(${url}.pathname)`)
        .replaceAll('import.meta.dirname', `decodeURIComponent(new URL('.', ${url}).pathname).replace(/\\/$/, '')`);
      return { contents, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

// The Docker client is bundled (code-cached: loading it from node_modules cost every docker
// command ≈ 0.3 s), except the parts only some calls need, which load from node_modules on
// their first call: BuildKit sessions (gRPC and protobuf, whose .proto files are read from
// beside their module) and the ssh:// transport (ssh2).
const LAZY_PARTS = { dockerode: ['./session', './buildkit'], 'docker-modem': ['./ssh'] };
const lazyDockerParts = {
  name: 'lazy-docker-parts',
  setup(b) {
    b.onResolve({ filter: /^\.\/(session|buildkit|ssh)$/ }, (args) => {
      const pkg = Object.keys(LAZY_PARTS).find((p) => args.importer.includes(`/node_modules/${p}/lib/`));
      if (!pkg || !LAZY_PARTS[pkg].includes(args.path)) return undefined;
      const path = `${pkg}/lib/${args.path.slice(2)}`;
      // buildkit is required inside the one function that uses it: it can simply stay outside.
      return args.path === './buildkit' ? { path, external: true } : { path, namespace: 'lazy-part' };
    });
    // Each is a function (withSession, ssh's agent factory): a stand-in that requires the real one when called.
    b.onLoad({ filter: /.*/, namespace: 'lazy-part' }, (args) => ({
      contents: `module.exports = function () { return require(${JSON.stringify(args.path)}).apply(this, arguments); };`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^(dockerode|docker-modem)\/lib\/(session|buildkit|ssh)$/ }, (args) => (args.namespace === 'lazy-part' ? { path: args.path, external: true } : undefined));
  },
};

rmSync(outdir, { recursive: true, force: true });
const outfile = join(outdir, 'main.cjs');
await build({
  entryPoints: [join(dist, 'cli', 'main.js')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // A vm.Script has no loader for import(): a lazy import becomes a require() run on first use.
  supported: { 'dynamic-import': false },
  external: EXTERNAL,
  plugins: [keepModuleUrl, lazyDockerParts],
  // The bundle's own URL, that each module's import.meta.url is resolved against (see keepModuleUrl).
  banner: { js: "var __gantryBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Fewer bytes to read and decode on every run (ASCII text decodes fastest); names stay, for stack traces.
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
process.stdout.write(`cli bundle: ${outfile} (${Math.round(statSync(outfile).size / 1024)} KiB)\n`);

// The launchers, CommonJS since Node starts a CommonJS main sooner than an ES module: what
// bin/gantry.js loads to run the bundle above with its code cache (src/core/code-cache.ts as one
// script), and what `AgentClient.ensure` spawns to run the local agent's bundle (src/agent/launch.ts).
const launcher = (options) => build({ ...options, bundle: true, platform: 'node', format: 'cjs', target: 'node20', legalComments: 'none', logLevel: 'warning' });
await launcher({ entryPoints: [join(dist, 'core', 'code-cache.js')], outfile: join(dist, 'core', 'code-cache.cjs') });
await launcher({ stdin: { contents: "require('./launch.js').launchAgent(__dirname);", resolveDir: join(dist, 'agent'), loader: 'js' }, outfile: join(dist, 'agent', 'launch.cjs') });
