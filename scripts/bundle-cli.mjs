// Builds the CLI (dist/cli/main.js, tsc's output, and everything it imports) into
// dist/cli-bundle/: main.js plus one chunk per lazily imported part (a command's
// module, a target), so a run parses a few files instead of hundreds and still
// loads only what its command uses. bin/gantry.js runs it when it is at least as
// new as tsc's output (else the plain dist/cli/main.js).
import { build } from 'esbuild';
import { readFileSync, rmSync, statSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const outdir = join(dist, 'cli-bundle');

// Left to Node's resolution at run time: native add-ons and their optional parts, and
// packages that read files next to their own sources (served assets, worker scripts)
// or that only the server, ssh or docker paths use (loaded lazily there anyway), and the Kubernetes client (only the kubernetes target's operations load it).
const EXTERNAL = ['better-sqlite3', 'ssh2', 'cpu-features', 'dockerode', 'docker-modem', 'pg', 'pg-native', 'pino', 'pino-*', 'thread-stream', 'fastify', 'fastify-*', '@fastify/*', 'kysely', 'playwright-core', 'vite', 'esbuild', '*.node', '@kubernetes/client-node'];

// Our code finds files next to its compiled module (the agent, the reaper, package.json):
// each module's import.meta.url becomes the URL of its file under dist/, as if it had not moved.
const keepModuleUrl = {
  name: 'keep-module-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + '/') || args.path.startsWith(outdir)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!/import\.meta\.(url|dirname|filename)/.test(text)) return undefined;
      const url = `new URL(${JSON.stringify(relative(outdir, args.path).split('\\').join('/'))}, import.meta.url)`;
      const contents = text
        .replaceAll('import.meta.url', `${url}.href`)
        .replaceAll('import.meta.filename', `decodeURIComponent(${url}.pathname)`)
        .replaceAll('import.meta.dirname', `decodeURIComponent(new URL('.', ${url}).pathname).replace(/\\/$/, '')`);
      return { contents, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { main: join(dist, 'cli', 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: EXTERNAL,
  plugins: [keepModuleUrl],
  // CommonJS dependencies call require() for node builtins: give the ESM chunks one.
  banner: { js: "import { createRequire as __gantryCreateRequire } from 'node:module';\nconst require = __gantryCreateRequire(import.meta.url);" },
  legalComments: 'none',
  logLevel: 'warning',
});
const files = readdirSync(outdir);
const kib = Math.round(files.reduce((n, f) => n + statSync(join(outdir, f)).size, 0) / 1024);
process.stdout.write(`cli bundle: ${outdir} (${files.length} files, ${kib} KiB)\n`);
