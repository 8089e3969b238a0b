import { z } from 'zod';
import { DEFAULTS } from '../../core/defaults.js';
import { parseSize } from '../../core/size.js';
import { describedDuration } from '../shared/config-fields.js';
import { HOST_FORMAT, USER_RE, describeHost, isValidHost, parseHostString, type HostSpec } from './host-spec.js';

const SECRET_NAME_RE = /^[A-Z_][A-Z0-9_]*$/;
const HostObject = z
  .object({
    host: z.string().refine(isValidHost, { error: `host is a host name or an IP address (${HOST_FORMAT} in the short form)` }),
    user: z.string().regex(USER_RE, { error: 'user is a login name such as "deploy"' }).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,99}$/, { error: 'name is letters, digits and "_.:@-" (how reports and --host call this host)' }).optional(),
  })
  .strict();

/** A host: "user@host[:port]" or { host, user, port, name }. */
const Host = z.union([z.string(), HostObject], { error: `a host is ${HOST_FORMAT}, or an object { host, user, port, name }` }).transform((input, ctx): HostSpec => {
  const h = typeof input === 'string' ? parseHostString(input.trim()) : input;
  if (typeof h === 'string') {
    ctx.issues.push({ code: 'custom', input, message: h });
    return z.NEVER;
  }
  const port = h.port ?? DEFAULTS.ssh.port;
  const name = ('name' in h && typeof h.name === 'string' && h.name) || describeHost({ host: h.host, port });
  return { name, host: h.host, port, ...(h.user ? { user: h.user } : {}) };
}).describe(`A host: ${HOST_FORMAT}, or { host, user, port, name }.`);

/** Where the private key comes from: a file, or a secret of Gantry's store (handed over in memory). */
const Key = z.union(
  [
    z.string().min(1).transform((file) => ({ file })),
    z.object({ file: z.string().min(1) }).strict(),
    z.object({ secret: z.string().regex(SECRET_NAME_RE, { error: 'a secret name is UPPER_SNAKE_CASE, as `gantry secrets set` takes it' }).describe('Name of the secret holding the private key (gantry secrets set NAME < key-file).') }).strict(),
  ],
  { error: 'key is a private key file ("~/.ssh/deploy_ed25519"), { file: PATH } or { secret: NAME } (set with `gantry secrets set NAME`)' },
);
export type KeySource = { file: string } | { secret: string };

const AbsolutePath = z
  .string()
  .regex(/^\/(?:[A-Za-z0-9._-]+\/?)*$/, { error: 'path is an absolute directory such as "/opt/gantry" (letters, digits, ".", "_", "-")' })
  .refine((p) => !p.split('/').includes('..'), { error: 'path may not contain ".."' });

export const sshConfigSchema = z
  .object({
    hosts: z
      .array(Host)
      .min(1, { error: 'list at least one host, e.g. hosts: ["deploy@10.0.0.5"]' })
      .superRefine((hosts, ctx) => {
        const seen = new Map<string, number>();
        hosts.forEach((h, i) => {
          const first = [h.name, `${h.host}:${h.port}`].map((k) => seen.get(k)).find((n) => n !== undefined);
          if (first !== undefined) ctx.issues.push({ code: 'custom', input: h, path: [i], message: `host ${JSON.stringify(h.name)} is listed twice (also at hosts[${first}])` });
          seen.set(h.name, i);
          seen.set(`${h.host}:${h.port}`, i);
        });
      })
      .describe(`The hosts to deploy to: ${HOST_FORMAT}, or { host, user, port, name }.`),
    user: z.string().regex(USER_RE, { error: 'user is a login name such as "deploy"' }).optional().describe('Login name for hosts that do not name one (default: the local user, as ssh does).'),
    key: Key.optional().describe('Private key: a file, or { secret: NAME } from Gantry\'s secret store. Without it the ssh-agent (SSH_AUTH_SOCK) is used.'),
    agent: z.boolean().default(true).describe('Offer the keys of the ssh-agent at SSH_AUTH_SOCK (when set).'),
    known_hosts: z.string().min(1).optional().describe(`known_hosts file checked for host keys (default: ~/${DEFAULTS.ssh.knownHostsFile}).`),
    trust_on_first_use: z.boolean().default(false).describe("Record an unknown host's key in known_hosts instead of refusing it. A changed key is refused either way."),
    bastion: Host.optional().describe(`Jump host every connection goes through: ${HOST_FORMAT} or { host, user, port }.`),
    port: z.number().int().min(1).max(65535).default(DEFAULTS.ssh.proxyPort).describe(`Port the app answers on, on each host: Gantry's proxy there (default ${DEFAULTS.ssh.proxyPort}). Two apps on the same hosts need different ports. With reverse_proxy: nginx it listens on 127.0.0.1 only, behind nginx.`),
    resources: z
      .object({
        memory: z.string().refine((v) => parseSize(v) !== undefined, { error: 'memory is a size such as "512Mi" or "1g"' }).optional().describe('MemoryMax of each instance unit.'),
        cpus: z.number().positive().max(1024).optional().describe('CPUQuota of each instance unit, in CPUs (0.5 = half a CPU).'),
      })
      .strict()
      .optional()
      .describe('Limits of each instance (systemd MemoryMax / CPUQuota).'),
    path: AbsolutePath.default(DEFAULTS.ssh.path).describe('Directory on each host holding <app>/releases, current and shared.'),
    parallel: z.number().int().min(1).max(1000).default(DEFAULTS.ssh.parallel).describe('Hosts worked on at once.'),
    connect_timeout: describedDuration('connect_timeout', `Per host: TCP connect, SSH handshake and login (default ${DEFAULTS.ssh.connectTimeoutMs / 1000}s).`, DEFAULTS.ssh.connectTimeoutMs),
    command_timeout: describedDuration('command_timeout', `Per remote command; the command is killed past it (default ${DEFAULTS.ssh.commandTimeoutMs / 60_000}m).`, DEFAULTS.ssh.commandTimeoutMs),
    reverse_proxy: z.enum(['none', 'nginx'], { error: 'reverse_proxy is "none" or "nginx"' }).default('none').describe('nginx: write an nginx site in front of the app on each host.'),
    server_name: z.string().regex(/^[A-Za-z0-9*._-]+(?: [A-Za-z0-9*._-]+)*$/, { error: 'server_name is one or more host names separated by spaces' }).optional().describe('nginx server_name (reverse_proxy: nginx).'),
    tls: z
      .object({ certificate: AbsolutePath, key: AbsolutePath })
      .strict()
      .optional()
      .describe('Certificate and key paths on the hosts, for nginx to serve HTTPS (reverse_proxy: nginx).'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.reverse_proxy !== 'nginx') {
      if (c.tls) ctx.issues.push({ code: 'custom', input: c.tls, path: ['tls'], message: 'tls needs reverse_proxy: nginx (nginx serves the certificate)' });
      if (c.server_name) ctx.issues.push({ code: 'custom', input: c.server_name, path: ['server_name'], message: 'server_name needs reverse_proxy: nginx' });
    }
  });

export type SshConfig = z.output<typeof sshConfigSchema>;
