/**
 * "user@host[:port]" as the manifest writes hosts: parsed here, validated strictly (a host
 * name or an IP address, nothing a program could read as an option or a shell word).
 */
export interface HostSpec {
  /** How reports and `--host` name it (defaults to "host" or "host:port"). */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** Unset: the local user's name, as ssh does. */
  readonly user?: string;
}

export const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/i;
const HOSTNAME_RE = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;
const IPV6_RE = /^[0-9a-f:.]+(%[a-z0-9_.-]+)?$/i;

export function isValidHost(host: string): boolean {
  return HOSTNAME_RE.test(host) || (host.includes(':') && IPV6_RE.test(host));
}

export const HOST_FORMAT = '"host", "user@host", "user@host:port" or "user@[ipv6]:port"';

/** Parses "user@host[:port]"; returns a message saying what is wrong instead of throwing. */
export function parseHostString(text: string): { user?: string; host: string; port?: number } | string {
  const at = text.lastIndexOf('@');
  const user = at >= 0 ? text.slice(0, at) : undefined;
  const rest = at >= 0 ? text.slice(at + 1) : text;
  if (user !== undefined && !USER_RE.test(user)) return `invalid user name ${JSON.stringify(user)} in ${JSON.stringify(text)}`;
  let host = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [host, portText] = rest.split(':') as [string, string];
  }
  if (!isValidHost(host)) return `invalid host ${JSON.stringify(host)} in ${JSON.stringify(text)}: expected ${HOST_FORMAT}`;
  if (portText === undefined) return { user, host };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return `invalid port ${JSON.stringify(portText)} in ${JSON.stringify(text)}: expected 1-65535`;
  return { user, host, port };
}

/** "user@host:port" for messages (the user is left out when unset). */
export function describeHost(spec: { host: string; port: number; user?: string }): string {
  const host = spec.host.includes(':') ? `[${spec.host}]` : spec.host;
  return `${spec.user ? `${spec.user}@` : ''}${host}${spec.port === 22 ? '' : `:${spec.port}`}`;
}
