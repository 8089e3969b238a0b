/**
 * What a local agent runs (`agentEntry()`), built by scripts/bundle-cli.mjs into the
 * CommonJS script dist/agent/launch.cjs (Node starts a CommonJS main sooner than an ES
 * module): the agent bundled into one CommonJS script, compiled with V8's code cache
 * (core/code-cache.ts), so the agent is ready sooner after its spawn; main.js itself
 * when the bundle is missing, older than tsc's output (stale code) or unreadable. Same
 * arguments as main.js.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runBundleIfFresh } from '../core/code-cache.js';

/** `dir`: where the launcher runs from (dist/agent). */
export function launchAgent(dir: string): void {
  const main = join(dir, 'main.js');
  if (!runBundleIfFresh(join(dir, 'gantry-agent-local.cjs'), main, { key: 'agent', saveAfterMs: 2000 })) void import(pathToFileURL(main).href);
}
