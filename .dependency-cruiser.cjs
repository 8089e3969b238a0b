// Architecture boundaries of DESIGN.md ("Boundaries that never bend"), by element type.
// Every folder of src/ is an element; a module may import only what its element's
// `allowed` entry names (static imports, `import()` and re-exports alike). Anything
// not listed is a violation, so a new folder must be added here before it can import.
// Paths are matched with `(^|/)src/` so the same rules apply to test/fixtures/boundaries.
const S = '(?:^|/)src/';
const el = (...names) => names.map((n) => `${S}${n}/`);
const from = (name) => ({ path: `${S}${name}/` });

/** element -> elements it may import (besides itself and anything outside src/). */
const ALLOWED = {
  core: [],
  manifest: ['core'],
  store: ['core'],
  secrets: ['core'],
  backup: ['core'],
  proxy: ['core'],
  supervisor: ['core'],
  agent: ['core', 'proxy', 'supervisor'],
  // The engine reaches targets through the registry handed to it, and secrets and
  // backups through interfaces handed to it (EngineOptions): it imports none of them.
  engine: ['core', 'manifest', 'store'],
  registry: ['core', 'engine', 'targets'],
  // The CLI starts the server (`gantry server`) and works on its keys and audit log.
  cli: ['core', 'engine', 'manifest', 'store', 'registry', 'secrets', 'backup', 'server'],
  server: ['core', 'engine', 'manifest', 'store', 'registry', 'secrets', 'backup'],
};

const allowed = [
  // Anything outside src/ (node builtins, npm packages).
  { from: { path: `${S}` }, to: { pathNot: `${S}` } },
  // The dashboard: itself and npm packages, nothing of src/ (it talks to the server over HTTP).
  { from: { path: '^web/app/' }, to: { pathNot: `${S}` } },
  ...Object.entries(ALLOWED).map(([name, deps]) => ({
    from: from(name),
    to: { path: [...el(name), ...el(...deps)] },
  })),
  // A target: its own folder (subfolders may import their parent), the shared target
  // code, the engine's types and the mechanisms it drives; never another target or a face.
  {
    from: { path: `${S}targets/([^/]+)/` },
    to: { path: [`${S}targets/$1/`, ...el('targets/shared', 'engine', 'core', 'manifest', 'agent', 'proxy', 'supervisor')] },
  },
  {
    from: { path: `${S}targets/shared/` },
    to: { path: el('targets/shared', 'engine', 'core', 'manifest', 'agent', 'proxy', 'supervisor') },
  },
];

module.exports = {
  forbidden: [
    {
      name: 'engine-opens-no-connection',
      comment: 'Health is probed where the instance is (the node agent, through TargetRuntime.probe/waitHealthy): nothing in the engine opens a connection to an instance.',
      severity: 'error',
      from: { path: `${S}engine/` },
      to: { path: ['^(node:)?(net|http|https|http2|tls|dgram)$', '(^|/)node_modules/undici/'] },
    },
    {
      name: 'web-talks-http-only',
      comment: 'The dashboard (web/) reaches the server over HTTP only: it imports nothing from src/, and nothing in src/ imports it.',
      severity: 'error',
      from: { path: '^web/' },
      to: { path: `${S}` },
    },
    {
      name: 'src-imports-no-web',
      severity: 'error',
      from: { path: `${S}` },
      to: { path: '^web/' },
    },
    {
      name: 'unknown-element',
      comment: 'Every file under src/ belongs to an element of DESIGN.md "Layout"; add the folder to .dependency-cruiser.cjs with what it may import.',
      severity: 'error',
      from: { path: `${S}`, pathNot: [...el(...Object.keys(ALLOWED)), `${S}targets/[^/]+/`] },
      to: {},
    },
  ],
  allowed,
  allowedSeverity: 'error',
  options: {
    doNotFollow: { path: 'node_modules' },
    // npm packages stay out of the graph, except those a rule names (an excluded module is invisible to rules).
    exclude: { path: ['(^|/)node_modules/(?!undici/)', '(^|/)dist/'] },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
