#!/usr/bin/env node
// The CLI as bundled by `npm run build` (scripts/bundle-cli.mjs: fewer files to load),
// unless tsc has written dist/ since (a bundle older than the code would run stale code).
import { statSync } from 'node:fs';

const mtime = (rel) => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundle = mtime('../dist/cli-bundle/main.js');
await import(bundle >= 0 && bundle >= mtime('../dist/cli/main.js') ? '../dist/cli-bundle/main.js' : '../dist/cli/main.js');
