#!/usr/bin/env node
// The CLI as bundled by `npm run build` (scripts/bundle-cli.mjs: one script, compiled with
// V8's code cache by dist/core/code-cache.js), unless tsc has written dist/ since (a bundle
// older than the code would run stale code) or the bundle cannot be read: then dist/cli/main.js.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // What commander prints for it (the version, exit 0), without loading the CLI to say so.
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const mtime = (rel) => {
    try {
      return statSync(new URL(rel, import.meta.url)).mtimeMs;
    } catch {
      return -1;
    }
  };
  const bundle = mtime('../dist/cli-bundle/main.cjs');
  let ran = false;
  if (bundle >= 0 && bundle >= mtime('../dist/cli/main.js')) {
    // Each command has a code cache of its own (what its runs compile): the command names the run.
    const key = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-f' && args[i - 1] !== '--file') ?? args.join(' ').slice(0, 40);
    const { runBundle } = await import('../dist/core/code-cache.js');
    ran = runBundle(fileURLToPath(new URL('../dist/cli-bundle/main.cjs', import.meta.url)), { key });
  }
  if (!ran) await import('../dist/cli/main.js');
}
