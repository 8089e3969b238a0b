import type { IncomingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 7230 §6.1 and RFC 2616 §13.5.1) apply to one
 * connection and are never forwarded. `expect` is dropped too: Node already
 * answered `100 Continue` to the client, and undici rejects it.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
]);

/** 1 at the length of every response header name clientResponseHeaders drops (hop-by-hop, x-gantry-release). */
const DROPPED_LENGTH = new Uint8Array(32);
for (const name of [...HOP_BY_HOP, 'x-gantry-release']) DROPPED_LENGTH[name.length] = 1;

export interface ForwardedRequest {
  /** Flat [name, value, name, value, ...] list, original case and order. */
  headers: string[];
  /** The request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
}

export interface ForwardContext {
  remoteAddress: string | undefined;
  proto: string;
  /** Keep incoming X-Forwarded-Proto/Host (the proxy sits behind a trusted TLS terminator). */
  trustForwarded: boolean;
}

/** Reused for every request (the proxy is single-threaded); only remoteAddress changes. */
const scratch: ForwardContext = { remoteAddress: undefined, proto: 'http', trustForwarded: false };
export function forwardContext(remoteAddress: string | undefined, proto: string, trustForwarded: boolean): ForwardContext {
  scratch.remoteAddress = remoteAddress;
  scratch.proto = proto;
  scratch.trustForwarded = trustForwarded;
  return scratch;
}

/**
 * Request headers for the upstream: hop-by-hop removed, X-Forwarded-* added.
 * `upgrade`: the request asks to switch protocols, so `Upgrade` is kept and
 * `Connection: upgrade` sent (the only hop-by-hop intent passed on).
 *
 * A client may name more hop-by-hop headers in `Connection`; those are removed
 * from what it sent, but never what the proxy sets (X-Forwarded-*, which are
 * added after that removal) nor what frames or routes the request (Host,
 * Content-Length).
 */
export function forwardRequestHeaders(raw: readonly string[], ctx: ForwardContext, upgrade = false): ForwardedRequest {
  let out: string[] = [];
  let hasBody = false;
  let connection: string | undefined;
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'transfer-encoding') hasBody = true;
      else if (lower === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
      else if (upgrade && lower === 'upgrade') out.push(name, value);
      continue;
    }
    switch (lower) {
      case 'content-length':
        if (value !== '0') hasBody = true;
        break;
      case 'host':
        host = value;
        break;
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        xfProto = value;
        continue;
      case 'x-forwarded-host':
        xfHost = value;
        continue;
    }
    out.push(name, value);
  }
  if (connection !== undefined) {
    // Rare: `Connection: close` alone names nothing, so the common case costs one check.
    const nominated = nominatedHeaders(connection);
    if (nominated !== undefined) {
      out = withoutNominated(out, nominated);
      if (nominated.has('x-forwarded-for')) xff = undefined;
      if (nominated.has('x-forwarded-proto')) xfProto = undefined;
      if (nominated.has('x-forwarded-host')) xfHost = undefined;
    }
  }
  if (upgrade) out.push('connection', 'upgrade');
  const addr = ctx.remoteAddress ?? 'unknown';
  out.push('x-forwarded-for', xff === undefined ? addr : `${xff}, ${addr}`);
  out.push('x-forwarded-proto', ctx.trustForwarded && xfProto !== undefined ? xfProto : ctx.proto);
  const fwdHost = ctx.trustForwarded && xfHost !== undefined ? xfHost : host;
  if (fwdHost !== undefined) out.push('x-forwarded-host', fwdHost);
  return { headers: out, hasBody };
}

/** Response headers for the client: hop-by-hop removed, x-gantry-release added. */
export function clientResponseHeaders(rawHeaders: readonly Buffer[], release: string): string[] {
  // Flat [name, value, ...] as the upstream sent them (repeated headers such as
  // set-cookie stay separate); writeHead takes this form as is.
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const nameBuf = rawHeaders[i]!;
    // Only a name as long as one of those dropped needs a closer look (most, e.g. content-type, are not).
    if (nameBuf.length < DROPPED_LENGTH.length && DROPPED_LENGTH[nameBuf.length] === 1) {
      const lower = nameBuf.toString('latin1').toLowerCase();
      if (lower === 'connection') {
        const value = rawHeaders[i + 1]!.toString('latin1');
        connection = connection === undefined ? value : `${connection}, ${value}`;
      }
      if (HOP_BY_HOP.has(lower) || lower === 'x-gantry-release') continue;
    }
    out.push(nameBuf.toString('latin1'), rawHeaders[i + 1]!.toString('latin1'));
  }
  const nominated = connection === undefined ? undefined : nominatedHeaders(connection);
  const kept = nominated === undefined ? out : withoutNominated(out, nominated);
  kept.push('x-gantry-release', release);
  return kept;
}

/** The same for the upgrade path, which reads Node's parsed headers object. */
export function clientResponseHeaderRecord(headers: IncomingHttpHeaders, release: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const token of connection.split(',')) delete out[token.trim().toLowerCase()];
  }
  out['x-gantry-release'] = release;
  return out;
}

/** Never removed on a client's say-so: they route and frame the request. */
const NOT_NOMINATABLE: ReadonlySet<string> = new Set(['host', 'content-length', 'upgrade', 'close', 'keep-alive', '']);

/** Header names a `Connection` value declares hop-by-hop (undefined: none). */
function nominatedHeaders(connection: string): Set<string> | undefined {
  // What nearly every request and response carries names nothing: no split for those.
  if (connection.length <= 10) {
    const l = connection.toLowerCase();
    if (l === 'keep-alive' || l === 'close') return undefined;
  }
  let nominated: Set<string> | undefined;
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (!NOT_NOMINATABLE.has(t)) (nominated ??= new Set()).add(t);
  }
  return nominated;
}

function withoutNominated(flat: string[], nominated: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    if (!nominated.has(flat[i]!.toLowerCase())) out.push(flat[i]!, flat[i + 1]!);
  }
  return out;
}
