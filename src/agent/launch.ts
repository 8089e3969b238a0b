/**
 * What a local agent runs (`agentEntry()`): the agent bundled into one CommonJS script
 * (scripts/bundle-agent.mjs) compiled with V8's code cache (core/code-cache.ts), so the
 * agent is ready sooner after its spawn; main.js itself when the bundle is missing, older
 * than tsc's output (stale code) or unreadable. Same arguments as main.js.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runBundle } from '../core/code-cache.js';

const mtime = (rel: string): number => {
  try {
    return statSync(new URL(rel, import.meta.url)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundle = mtime('./gantry-agent-local.cjs');
const ran = bundle >= 0 && bundle >= mtime('./main.js') && runBundle(fileURLToPath(new URL('./gantry-agent-local.cjs', import.meta.url)), { key: 'agent', saveAfterMs: 2000 });
if (!ran) await import('./main.js');
