import { DEFAULTS } from '../../core/defaults.js';
import { GantryError } from '../../core/errors.js';
import { assertAppName } from './remote-script.js';

/**
 * The nginx site Gantry writes in front of an app's node agent proxy on a host
 * (reverse_proxy: nginx). Pure text: every value is validated here before it is written
 * into the file, as nginx would parse anything else (";", "{", quotes) as configuration.
 */
export interface NginxSiteOptions {
  app: string;
  /** The agent proxy's port on the host's loopback. */
  upstreamPort: number;
  /** Plain HTTP (default 80); with tls it only redirects to HTTPS. */
  listenPort?: number;
  /** HTTPS, with tls (default 443). */
  tlsPort?: number;
  /** nginx server_name: host names separated by spaces. Without it the site is the default server of its ports. */
  serverName?: string;
  /** Certificate and key files on the host. */
  tls?: { certificate: string; key: string };
  /** Also listen on [::] (the host has IPv6). */
  ipv6?: boolean;
}

/** The same formats the ssh target's config accepts (config.ts). */
const SERVER_NAME_RE = /^[A-Za-z0-9*._-]+(?: [A-Za-z0-9*._-]+)*$/;
const FILE_PATH_RE = /^\/(?:[A-Za-z0-9._-]+\/?)*$/;

export const nginxSiteName = (app: string): string => `gantry-${assertAppName(app)}.conf`;

function port(what: string, p: number): number {
  if (!Number.isInteger(p) || p < 1 || p > 65535) throw new GantryError('USAGE', `invalid ${what} ${p}`, 'a port is a whole number from 1 to 65535');
  return p;
}

function filePath(what: string, p: string): string {
  if (!FILE_PATH_RE.test(p) || p.endsWith('/') || p.split('/').includes('..')) {
    throw new GantryError('USAGE', `invalid ${what} path "${p}"`, 'use an absolute file path on the host such as "/etc/ssl/private/app.key" (letters, digits, ".", "_", "-")');
  }
  return p;
}

function serverNames(names: string | undefined): string | undefined {
  if (names === undefined) return undefined;
  if (!SERVER_NAME_RE.test(names)) throw new GantryError('USAGE', `invalid server_name "${names}"`, 'server_name is one or more host names separated by spaces');
  return names;
}

export function renderNginxSite(opts: NginxSiteOptions): string {
  const app = assertAppName(opts.app);
  const upstreamPort = port('upstream port', opts.upstreamPort);
  const httpPort = port('listen port', opts.listenPort ?? DEFAULTS.nginx.httpPort);
  const httpsPort = port('TLS port', opts.tlsPort ?? DEFAULTS.nginx.httpsPort);
  const names = serverNames(opts.serverName);
  const tls = opts.tls ? { certificate: filePath('tls.certificate', opts.tls.certificate), key: filePath('tls.key', opts.tls.key) } : undefined;
  if (tls && httpsPort === httpPort) throw new GantryError('USAGE', `the TLS port and the HTTP port are both ${httpPort}`, 'use two different ports');

  // App names are [a-z0-9-]; nginx variable and upstream names take [A-Za-z0-9_].
  const id = `gantry_${app.replace(/-/g, '_')}`;
  // Without a server_name the site answers every request to its ports (a host's IP too).
  const dflt = names ? '' : ' default_server';
  const listen = (p: number, extra = ''): string[] => [`    listen ${p}${extra}${dflt};`, ...(opts.ipv6 ? [`    listen [::]:${p}${extra}${dflt};`] : [])];
  const serverName = `    server_name ${names ?? '_'};`;
  const proxy = [
    '    location / {',
    `        proxy_pass http://${id};`,
    '        proxy_http_version 1.1;',
    '        proxy_set_header Host $host;',
    '        proxy_set_header X-Real-IP $remote_addr;',
    '        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    '        proxy_set_header X-Forwarded-Proto $scheme;',
    '        proxy_set_header X-Forwarded-Host $host;',
    '        proxy_set_header Upgrade $http_upgrade;',
    `        proxy_set_header Connection $${id}_connection;`,
    // Streams (server-sent events, downloads, uploads) pass as they come; the body size is the app's business.
    '        proxy_buffering off;',
    '        proxy_request_buffering off;',
    '        client_max_body_size 0;',
    // Idle websockets and long polls stay open (nginx closes them after 60 s by default).
    '        proxy_read_timeout 1h;',
    '        proxy_send_timeout 1h;',
    '    }',
  ];
  const redirect = `    return 301 https://$host${httpsPort === 443 ? '' : `:${httpsPort}`}$request_uri;`;

  return [
    `# Written by Gantry for the app ${app}: nginx in front of its node agent's proxy.`,
    '# Gantry rewrites this file on each deploy; changes made here are lost.',
    `upstream ${id} {`,
    `    server 127.0.0.1:${upstreamPort};`,
    '    keepalive 16;',
    '}',
    '',
    // A websocket upgrade passes through; other requests keep the upstream connection alive.
    `map $http_upgrade $${id}_connection {`,
    '    default upgrade;',
    "    ''      '';",
    '}',
    '',
    'server {',
    ...listen(httpPort),
    serverName,
    ...(tls ? [redirect] : proxy),
    '}',
    ...(tls
      ? [
          '',
          'server {',
          ...listen(httpsPort, ' ssl'),
          serverName,
          `    ssl_certificate ${tls.certificate};`,
          `    ssl_certificate_key ${tls.key};`,
          '    ssl_protocols TLSv1.2 TLSv1.3;',
          ...proxy,
          '}',
        ]
      : []),
    '',
  ].join('\n');
}
