import type { IncomingMessage } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { upgradeRequestHead } from './headers.js';
import type { BackendEntry, GantryProxy } from './proxy.js';

const BAD_GATEWAY = 'HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: upstream-unavailable\r\n\r\n';
const NO_BACKEND = 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: no-backend\r\n\r\n';

/**
 * Upgrade (WebSocket) pass-through, best effort: the request head is replayed
 * to the chosen backend and the two sockets are piped. The backend's 101
 * response passes through untouched (no x-gantry-release on it). An open
 * tunnel counts as in flight, so drain() waits for it up to its timeout.
 */
export function proxyUpgrade(proxy: GantryProxy, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const requestHead = upgradeRequestHead(req.method ?? 'GET', req.url ?? '/', req.rawHeaders, proxy.forwardContext(req.socket));
  let tried: Set<BackendEntry> | undefined;
  let attempts = 0;
  client.on('error', () => client.destroy());

  const attempt = (entry: BackendEntry | undefined, lastError?: unknown): void => {
    if (entry === undefined || client.destroyed) {
      if (!client.destroyed) client.end(lastError === undefined ? NO_BACKEND : BAD_GATEWAY);
      return;
    }
    attempts++;
    proxy.begin(entry);
    const upstream: Socket = net.connect({ host: entry.hostname, port: entry.port });
    let connected = false;
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      proxy.end(entry);
    };
    upstream.on('error', (err) => {
      if (!connected) {
        entry.stats.connectErrors++;
        end();
        upstream.destroy();
        (tried ??= new Set()).add(entry);
        attempt(attempts <= proxy.connectRetries ? proxy.pick(tried, err) : undefined, err);
        return;
      }
      client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.setNoDelay(true);
      upstream.write(requestHead);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('close', () => {
      if (!connected) return;
      client.destroy();
      end();
    });
    client.once('close', () => {
      upstream.destroy();
      if (!connected) end();
    });
  };
  attempt(proxy.pick());
}
