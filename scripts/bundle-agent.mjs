// Builds the node agent (src/agent/main.ts and everything it imports) into ONE file,
// dist/agent/gantry-agent.mjs: what Gantry uploads to SSH hosts, which then need no
// npm install, only a Node runtime (theirs when new enough, or one Gantry brings).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { statSync } from 'node:fs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.env.GANTRY_AGENT_BUNDLE_OUT ?? `${root}dist/agent/gantry-agent.mjs`;
// The oldest Node the bundle runs on. The agent bundles undici 6 (installed as the
// alias `undici6`; undici 7 needs Node 20.18) so that Debian 12's nodejs 18 runs it
// and hosts need no Node uploaded: the agent's code uses only the API both share.
// src/targets/ssh/node-runtime.ts reads it back from the bundle's first line to decide
// whether a host's own `node` can run it.
const MIN_NODE = '18.17.0';

// On a host the agent runs with --backend systemd: it never talks to Docker (container
// watching and probes in containers belong to the docker target's local agent). dockerode
// would bring ssh2, grpc and protobufjs: two thirds of the bundle, parsed by every agent
// start on every host for nothing. A stand-in that says so if it were ever reached.
const noDocker = {
  name: 'no-docker-on-hosts',
  setup(b) {
    b.onResolve({ filter: /^dockerode$/ }, () => ({ path: 'dockerode', namespace: 'no-docker' }));
    b.onLoad({ filter: /.*/, namespace: 'no-docker' }, () => ({
      contents: "export default class { constructor() { throw new Error('the node agent on an SSH host has no Docker client (the docker target runs its own agent)'); } }",
      loader: 'js',
    }));
  },
};

await build({
  entryPoints: [`${root}src/agent/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: `node${MIN_NODE.split('.')[0]}`,
  // Native add-ons of optional paths (dockerode's ssh transport) are not needed on a host.
  external: ['cpu-features', '*.node'],
  alias: { undici: 'undici6' },
  plugins: [noDocker],
  // Less to read, decode and compile at each start on each host (a fan-out starts one per host).
  minify: true,
  // CommonJS dependencies call require() for node builtins and read __dirname: give the ESM bundle those.
  banner: {
    js: [
      `// gantry-agent min-node=${MIN_NODE}`,
      "import { createRequire as __gantryCreateRequire } from 'node:module';",
      "import { fileURLToPath as __gantryToPath } from 'node:url';",
      'const require = __gantryCreateRequire(import.meta.url);',
      'const __filename = __gantryToPath(import.meta.url);',
      "const __dirname = __gantryToPath(new URL('.', import.meta.url));",
    ].join('\n'),
  },
  legalComments: 'none',
  logLevel: 'warning',
});
process.stdout.write(`agent bundle: ${outfile} (${Math.round(statSync(outfile).size / 1024)} KiB)\n`);

// The local agent (dist/agent/launch.cjs runs it, on the CLI's own Node): the same code as
// one CommonJS script, compiled with V8's code cache (src/core/code-cache.ts) so that the
// agent is ready sooner after its spawn. It uses the undici the CLI uses.
const localFile = `${root}dist/agent/gantry-agent-local.cjs`;
await build({
  entryPoints: [`${root}src/agent/main.ts`],
  outfile: localFile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['cpu-features', '*.node'],
  // A vm.Script has no loader for import(): a lazy import becomes a require() run on first use.
  supported: { 'dynamic-import': false },
  charset: 'ascii',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
process.stdout.write(`local agent bundle: ${localFile} (${Math.round(statSync(localFile).size / 1024)} KiB)\n`);

