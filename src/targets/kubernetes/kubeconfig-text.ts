/**
 * A kubeconfig read as text and checked for the parts a deploy needs (clusters,
 * users, contexts, the context to use), without the Kubernetes client: the
 * manifest's checks run on every command and must stay light.
 */
import { parse } from 'yaml';

export interface KubeconfigSummary {
  contexts: string[];
  currentContext?: string;
  /** The cluster's server of each context. */
  servers: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const named = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v.filter(isObject) : []);

/** Parses kubeconfig text; returns what is wrong with it as a sentence, or its summary. */
export function summarizeKubeconfig(text: string, context?: string): KubeconfigSummary | string {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return `it is not YAML (${(err as Error).message.split('\n')[0]})`;
  }
  if (!isObject(doc)) return 'it is not a kubeconfig mapping (apiVersion, clusters, users, contexts)';
  const clusters = named(doc.clusters);
  const contexts = named(doc.contexts);
  if (clusters.length === 0) return 'it has no clusters';
  if (contexts.length === 0) return 'it has no contexts';
  const servers: Record<string, string> = {};
  for (const c of contexts) {
    const ctx = isObject(c.context) ? c.context : {};
    const cluster = clusters.find((x) => x.name === ctx.cluster);
    const server = isObject(cluster?.cluster) ? cluster.cluster.server : undefined;
    if (typeof c.name === 'string') servers[c.name] = typeof server === 'string' ? server : '';
  }
  const names = Object.keys(servers);
  const current = typeof doc['current-context'] === 'string' && doc['current-context'] !== '' ? doc['current-context'] : undefined;
  const wanted = context ?? current;
  if (wanted === undefined) return `it names no current-context; set \`context\` to one of ${names.map((n) => `"${n}"`).join(', ')}`;
  if (!(wanted in servers)) return `it has no context "${wanted}" (it has ${names.map((n) => `"${n}"`).join(', ')})`;
  if (!servers[wanted]) return `the cluster of context "${wanted}" has no server address`;
  return { contexts: names, currentContext: current, servers };
}

/** Base64 kubeconfig content → text; undefined when it is not base64. */
export function decodeBase64(content: string): string | undefined {
  const compact = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}
