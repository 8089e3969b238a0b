/**
 * `--host`: an operation on some nodes of a many-node target. The names are
 * checked against the target's nodes (an unknown one is bad usage naming the
 * known ones) and kept on the opened target, where planNodes (nodes.ts) and
 * the read views pick them up. The engine never knows what a node is (a host,
 * a device): only its name.
 */
import { GantryError } from '../core/errors.js';
import type { EngineContext } from './context.js';
import { openNodes } from './nodes.js';
import type { Opened } from './types.js';

/** Options of the operations that take `--host`. */
export interface HostOption {
  /** Node names; absent or empty: every node. */
  hosts?: string[];
}

/** Check `hosts` against the target's nodes and keep them (in the target's node order) on `o`. */
export async function selectHosts(engine: EngineContext, o: Opened, hosts: string[] | undefined): Promise<void> {
  if (!hosts?.length) return;
  const nodes = await openNodes(engine, o);
  if (!nodes) throw new GantryError('USAGE', `target ${o.name} (${o.target.type}) runs in one place: --host is for targets with many nodes`, 'leave out --host');
  const known = nodes.map((n) => n.name);
  const unknown = [...new Set(hosts.filter((h) => !known.includes(h)))];
  if (unknown.length) throw new GantryError('USAGE', `unknown host${unknown.length === 1 ? '' : 's'} ${unknown.map((h) => `"${h}"`).join(', ')} for target ${o.name}`, `known hosts: ${known.join(', ')}`);
  o.hosts = known.filter((n) => hosts.includes(n));
}

/** Refuse `--host` on an operation that is fleet-wide by design, saying why and what to do instead. */
export function refuseHosts(what: 'rollback' | 'scale', hosts: string[] | undefined): void {
  if (!hosts?.length) return;
  const why =
    what === 'rollback'
      ? 'a rollback changes the release of the whole fleet (every node runs the current release; the record keeps one current release per target)'
      : 'the instance count is desired state of the whole fleet (every node runs the same count, and every later deploy and heal applies it to every node)';
  const instead = what === 'rollback' ? '`gantry rollback` without --host; to take hosts out meanwhile, `gantry stop --host NAME`' : '`gantry scale N` without --host; to run nothing on some hosts, `gantry stop --host NAME` (`gantry start --host NAME` brings them back)';
  throw new GantryError('USAGE', `${what} does not take --host: ${why}`, `use ${instead}`);
}
