import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GantryError } from '../../core/errors.js';

/** The node agent built into one file by `npm run build` (scripts/bundle-agent.mjs): what goes to each host. */
export interface AgentBundle {
  file: string;
  content: Buffer;
  /** sha256 of the content, 16 hex: the bundle's directory on the host, so a new Gantry's agent replaces an old one. */
  hash: string;
  /** The oldest Node that runs it (from the bundle's first line). */
  minNode: string;
}

// dist/targets/ssh/ -> dist/agent/; from the sources (tests run them directly) -> the built dist/.
const CANDIDATES = ['../../agent/gantry-agent.mjs', '../../../dist/agent/gantry-agent.mjs'].map((p) => fileURLToPath(new URL(p, import.meta.url)));

let cached: AgentBundle | undefined;

export function agentBundle(): AgentBundle {
  if (cached) return cached;
  const file = CANDIDATES.find((f) => existsSync(f));
  if (!file) throw new GantryError('INTERNAL', 'the bundled node agent (dist/agent/gantry-agent.mjs) is missing', 'run `npm run build`: it bundles the agent for SSH hosts');
  const content = readFileSync(file);
  const minNode = /^\/\/ gantry-agent min-node=(\d+\.\d+\.\d+)/.exec(content.subarray(0, 200).toString('utf8'))?.[1];
  if (!minNode) throw new GantryError('INTERNAL', `${file} does not say which Node it needs (first line "// gantry-agent min-node=X.Y.Z")`, 'rebuild it with `npm run build`');
  cached = { file, content, hash: createHash('sha256').update(content).digest('hex').slice(0, 16), minNode };
  return cached;
}
