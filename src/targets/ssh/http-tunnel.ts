import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import { Agent as UndiciAgent } from 'undici';
import type { SshConnection } from './connection.js';

/**
 * HTTP to a port on the host's loopback through the SSH connection (a direct-tcpip channel
 * per HTTP connection): how Gantry reaches the node agent's admin API on 127.0.0.1 without
 * the host opening a port. The URL's host and port are ignored; every request goes to
 * remoteHost:remotePort as seen from the SSH host.
 */

/** Socket methods http clients call that a channel lacks: no-ops (the SSH connection has its own keepalive). */
function socketLike<T extends Duplex>(channel: T): T {
  const s = channel as unknown as Record<string, unknown>;
  for (const m of ['setNoDelay', 'setKeepAlive', 'setTimeout', 'ref', 'unref']) if (typeof s[m] !== 'function') s[m] = () => channel;
  return channel;
}

/** For node:http / fetch-free code: `http.request({ agent, path })`. */
export function tunnelHttpAgent(conn: SshConnection, remotePort: number, remoteHost = '127.0.0.1', options: AgentOptions = {}): HttpAgent {
  const agent = new HttpAgent({ keepAlive: false, ...options });
  (agent as unknown as { createConnection: (o: unknown, cb: (err: Error | null, s?: Duplex) => void) => undefined }).createConnection = (_o, cb) => {
    conn.openTcp(remoteHost, remotePort).then(
      (ch) => cb(null, socketLike(ch)),
      (e: Error) => cb(e),
    );
    return undefined;
  };
  return agent;
}

/** For undici (`request(url, { dispatcher })`): connections are channels, kept alive and reused by undici. */
export function tunnelDispatcher(conn: SshConnection, remotePort: number, remoteHost = '127.0.0.1'): UndiciAgent {
  return new UndiciAgent({
    // Idle channels close well before the agent's admin API would drop them (DEFAULTS.agent.adminKeepAliveMs):
    // the close must never race a request on a slow channel.
    keepAliveTimeout: 4_000,
    keepAliveMaxTimeout: 10_000,
    connect: (_opts, cb) => {
      conn.openTcp(remoteHost, remotePort).then(
        (ch) => cb(null, socketLike(ch) as never),
        (e: Error) => cb(e, null),
      );
    },
  });
}
