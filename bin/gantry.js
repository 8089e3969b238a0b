#!/usr/bin/env node
// CommonJS (bin/package.json), not an ES module: Node starts a CommonJS main ≈ 30 ms sooner.
// Runs the CLI as bundled by `npm run build` (scripts/bundle-cli.mjs: one script, compiled
// with V8's code cache by dist/core/code-cache.cjs), unless tsc has written dist/ since (a
// bundle older than the code would run stale code) or the bundle cannot be read: then the
// plain ES modules, dist/cli/main.js.
'use strict';
// The first start-up mark, for `npm run bench` (src/core/startup-marks.ts): when this script began.
if (process.env.GANTRY_STARTUP_MARKS) (globalThis.__gantryStartupMarks ??= []).push(['bin', performance.now()]);
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // What commander prints for it (the version, exit 0), without loading the CLI to say so.
  process.stdout.write(`${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}\n`);
} else {
  // Each command has a code cache of its own (what its runs compile): the command names the run.
  const key = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-f' && args[i - 1] !== '--file') ?? args.join(' ').slice(0, 40);
  let ran = false;
  try {
    const { runBundleIfFresh } = require(join(root, 'dist', 'core', 'code-cache.cjs'));
    ran = runBundleIfFresh(join(root, 'dist', 'cli-bundle', 'main.cjs'), join(root, 'dist', 'cli', 'main.js'), { key });
  } catch (err) {
    // Only a missing runner (a build from before it existed) falls back; an error of the CLI itself propagates.
    if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes('code-cache.cjs')) throw err;
  }
  if (!ran) import(pathToFileURL(join(root, 'dist', 'cli', 'main.js')).href);
}
