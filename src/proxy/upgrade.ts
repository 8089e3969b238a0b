import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { clientResponseHeaderRecord, forwardRequestHeaders } from './headers.js';
import { isConnectError, type BackendEntry, type GantryProxy } from './proxy.js';

const NO_BACKEND = 'HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: no-backend\r\n\r\n';
const BAD_GATEWAY = 'HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: upstream-unavailable\r\n\r\n';
const UPSTREAM_ERROR = 'HTTP/1.1 502 Bad Gateway\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: upstream-error\r\n\r\n';
const TIMEOUT = 'HTTP/1.1 504 Gateway Timeout\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: upstream-timeout\r\n\r\n';
const CHUNKED_UNSUPPORTED = 'HTTP/1.1 501 Not Implemented\r\nconnection: close\r\ncontent-length: 0\r\nx-gantry-error: chunked-upgrade\r\n\r\n';

class ResponseTimeout extends Error {}

/**
 * An Upgrade request (WebSocket and the like). Only a 101 from the app makes
 * a tunnel: the 101 passes through untouched (no x-gantry-release) and the two
 * sockets are piped; an open tunnel counts as in flight, so drain() waits for
 * it up to its timeout. Any other answer is relayed as an ordinary response
 * (counted in stats), after which the client's connection goes back to the
 * HTTP server, so later requests on it are proxied like any other.
 */
export function proxyUpgrade(proxy: GantryProxy, req: http.IncomingMessage, client: Duplex, head: Buffer): void {
  const fwd = forwardRequestHeaders(req.rawHeaders, proxy.forwardContext(req.socket), true);
  const onClientError = (): void => void client.destroy();
  client.on('error', onClientError);
  if (req.headers['transfer-encoding'] !== undefined) {
    // Where a chunked body ends is only known by parsing it; upgrades with bodies are rare (h2c).
    client.end(CHUNKED_UNSUPPORTED);
    return;
  }
  const bodyLength = Number(req.headers['content-length'] ?? 0) || 0;
  const wantsClose = req.headers.connection?.toLowerCase().includes('close') === true || req.httpVersionMinor === 0;
  // What the client sent after the request head and its body: tunnel data, or the next request.
  const rest = head.subarray(Math.min(bodyLength, head.length));
  let tried: Set<BackendEntry> | undefined;
  let attempts = 0;

  const attempt = (entry: BackendEntry | undefined, lastError?: unknown): void => {
    if (entry === undefined || client.destroyed) {
      if (!client.destroyed) client.end(lastError === undefined ? NO_BACKEND : BAD_GATEWAY);
      return;
    }
    attempts++;
    proxy.begin(entry);
    const startedAt = performance.now();
    let connected = false;
    let answered = false;
    let ended = false;
    const end = (ok: boolean): void => {
      if (ended) return;
      ended = true;
      if (ok) entry.stats.latencies.add(performance.now() - startedAt);
      proxy.end(entry);
    };
    const upstreamReq = http.request({ host: entry.hostname, port: entry.port, method: req.method, path: req.url, headers: fwd.headers, agent: false, setHost: false });
    const onClientClose = (): void => {
      upstreamReq.destroy();
      end(false);
    };
    client.once('close', onClientClose);
    upstreamReq.once('socket', (s: Socket) => s.once('connect', () => (connected = true)));
    if (proxy.responseTimeoutMs > 0) upstreamReq.setTimeout(proxy.responseTimeoutMs, () => upstreamReq.destroy(new ResponseTimeout()));

    upstreamReq.on('error', (err) => {
      if (answered) return; // the response's own handlers deal with it
      client.off('close', onClientClose);
      end(false);
      if (client.destroyed) return;
      if (!connected && bodyLength === 0 && isConnectError(err)) {
        entry.stats.connectErrors++;
        (tried ??= new Set()).add(entry);
        attempt(attempts <= proxy.connectRetries ? proxy.pick(tried, err) : undefined, err);
        return;
      }
      entry.stats.errors5xx++;
      client.end(err instanceof ResponseTimeout ? TIMEOUT : UPSTREAM_ERROR);
    });

    upstreamReq.on('upgrade', (res: http.IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
      answered = true;
      upstream.setTimeout(0);
      client.write(rawHead(res.statusCode!, res.statusMessage, res.rawHeaders));
      if (upstreamHead.length > 0) client.write(upstreamHead);
      if (rest.length > 0) upstream.write(rest);
      upstream.on('error', () => client.destroy());
      upstream.once('close', () => {
        client.destroy();
        end(false); // a tunnel's lifetime is no request latency
      });
      upstream.pipe(client);
      client.pipe(upstream);
    });

    upstreamReq.on('response', (res: http.IncomingMessage) => {
      answered = true;
      const status = res.statusCode!;
      if (status >= 500) entry.stats.errors5xx++;
      // Stalls mid-body are cut after the idle timeout (a paused upstream socket is idle too).
      upstreamReq.setTimeout(proxy.idleTimeoutMs);
      const bodyless = req.method === 'HEAD' || status === 204 || status === 304;
      const out = clientResponseHeaderRecord(res.headers, entry.release);
      const chunked = !bodyless && res.headers['content-length'] === undefined;
      if (chunked) out['transfer-encoding'] = 'chunked';
      const close = wantsClose || bodyLength > 0;
      if (close) out.connection = 'close';
      client.write(headFromRecord(status, res.statusMessage, out));
      let complete = false;
      res.on('data', (chunk: Buffer) => {
        let more: boolean;
        if (chunked) {
          client.write(`${chunk.length.toString(16)}\r\n`);
          client.write(chunk);
          more = client.write('\r\n');
        } else {
          more = client.write(chunk);
        }
        if (!more) {
          res.pause();
          client.once('drain', () => res.resume());
        }
      });
      res.once('end', () => {
        complete = true;
        if (chunked) client.write('0\r\n\r\n');
        client.off('close', onClientClose);
        end(true);
        if (close) client.end();
        else proxy.resumeHttp(client, rest, onClientError);
      });
      res.on('error', () => undefined); // reported by 'close' below
      res.once('close', () => {
        if (complete || client.destroyed) {
          end(false);
          return;
        }
        // Broken or timed out mid-body: the status line is gone, so cut the connection.
        if (status < 500) entry.stats.errors5xx++;
        client.destroy();
        end(false);
      });
    });

    sendBody(client, head, bodyLength, upstreamReq);
  };
  attempt(proxy.pick());
}

/** Writes the request body (exactly `length` bytes: the part already read, then the rest from the client). */
function sendBody(client: Duplex, head: Buffer, length: number, upstreamReq: http.ClientRequest): void {
  if (length <= head.length) {
    upstreamReq.end(length > 0 ? head.subarray(0, length) : undefined);
    return;
  }
  upstreamReq.write(head);
  let remaining = length - head.length;
  const onData = (chunk: Buffer): void => {
    if (chunk.length >= remaining) {
      client.off('data', onData);
      client.pause();
      if (chunk.length > remaining) client.unshift(chunk.subarray(remaining));
      upstreamReq.end(chunk.subarray(0, remaining));
      remaining = 0;
      return;
    }
    remaining -= chunk.length;
    upstreamReq.write(chunk);
  };
  client.on('data', onData);
}

function rawHead(status: number, message: string | undefined, raw: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${message ?? ''}\r\n`;
  for (let i = 0; i < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${head}\r\n`;
}

function headFromRecord(status: number, message: string | undefined, headers: Record<string, string | string[]>): string {
  let head = `HTTP/1.1 ${status} ${message ?? ''}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`;
    else head += `${name}: ${value}\r\n`;
  }
  return `${head}\r\n`;
}
