import { GantryError } from '../../core/errors.js';
import type { DoctorCheck } from '../../engine/target.js';
import type { SshConnection } from './connection.js';
import { nginxSiteName, renderNginxSite, type NginxSiteOptions } from './nginx-site.js';

/**
 * The nginx site of an app on a host: written, tested (`nginx -t`), made live (reload, or
 * start when nginx is not running), and put back as it was when any of that fails. Each
 * step is a fixed `sh` script (a constant here) whose values are validated positional
 * arguments and whose file content comes over stdin: nothing from a manifest is script text.
 *
 * Debian's layout (sites-available + a link in sites-enabled) when the host has it, else
 * conf.d. Without a server_name the site is the default server of its ports, so Debian's
 * stock default site (sites-enabled/default) is disabled; a marker line in the site says so,
 * and removing the site enables the stock one again.
 */

const SITES_AVAILABLE = '/etc/nginx/sites-available';
const SITES_ENABLED = '/etc/nginx/sites-enabled';
const CONF_D = '/etc/nginx/conf.d';
const DEFAULT_MARKER = '# gantry: disabled the stock default site (sites-enabled/default); removing this site enables it again';
const INSTALL_HINT = 'install it on the host (apt-get install nginx-light), or set reverse_proxy: none';

/** nginx present? Which layout, the site's current text, and what else the site's rendering depends on. */
const PROBE_SCRIPT = `command -v nginx >/dev/null 2>&1 || { echo nginx=missing; exit 0; }
if [ -d ${SITES_ENABLED} ]; then echo layout=sites; f=$1; if [ -L "$3" ]; then echo linked=yes; fi; else echo layout=confd; f=$2; fi
case "$(readlink ${SITES_ENABLED}/default 2>/dev/null)" in ${SITES_AVAILABLE}/default|../sites-available/default) echo stock_default=yes;; esac
if [ -f /proc/net/if_inet6 ]; then echo ipv6=yes; fi
if systemctl is-active --quiet nginx; then echo active=yes; fi
if [ -f "$f" ]; then echo ---; cat -- "$f"; fi
exit 0`;

// Changes to nginx's configuration on a host are serialised (two apps deploying at once
// would otherwise test and reload each other's half-written sites).
const LOCK = `exec 9>/run/gantry-nginx.lock || exit 1
flock -w 60 9 || { echo "another change to nginx is in progress on this host (lock /run/gantry-nginx.lock held for 60 s)" >&2; exit 1; }
command -v nginx >/dev/null 2>&1 || exit 3`;

/**
 * \`systemctl reload nginx\` only signals nginx's master (\`nginx -s reload\`) and returns: the new
 * configuration is live once the master has forked workers with it, which takes a while on a
 * busy host. Until then the old workers keep proxying to the old upstream, so the caller must
 * not retire that upstream before: the reload waits (bounded, 15 s) for a worker that was not
 * there before it.
 */
const RELOAD_OR_START = `workers() { m=$(systemctl show -p MainPID --value nginx 2>/dev/null); [ -n "$m" ] && [ "$m" != 0 ] && ps --ppid "$m" -o pid= 2>/dev/null | tr -s ' \\n' '  '; }
if systemctl is-active --quiet nginx; then act=reloaded; set -- reload nginx; else act=started; set -- start nginx; fi
before=" $(workers) "
if ! out=$(systemctl "$@" 2>&1); then
  ok=1
else
  ok=0
  if [ "$act" = started ]; then systemctl enable nginx >/dev/null 2>&1 || true; fi
  if [ "$act" = reloaded ] && command -v ps >/dev/null 2>&1; then
    i=0; fresh=0
    while [ "$i" -lt 150 ] && [ "$fresh" = 0 ]; do
      for w in $(workers); do case "$before" in *" $w "*) ;; *) fresh=1;; esac; done
      [ "$fresh" = 1 ] || { sleep 0.1; i=$((i+1)); }
    done
  fi
fi`;

/**
 * $1 the site file, $2 its link in sites-enabled ("" with conf.d), $3 disable|enable|keep
 * the stock default site; the new content on stdin. The file's previous content is kept
 * beside it (<file>.gantry-prev, which nginx does not read). Exit 10: nginx -t failed and the
 * previous state is back; 11: the same, but nginx's configuration is invalid without our
 * change too; 12: the reload or start failed (previous state back); 3: no nginx.
 */
const APPLY_SCRIPT = `set -u
f=$1; link=$2; dflt=$3; D=${SITES_ENABLED}/default; A=${SITES_AVAILABLE}/default
${LOCK}
had=0; if [ -f "$f" ]; then had=1; cp -p -- "$f" "$f.gantry-prev" || exit 1; fi
linked=0; if [ -n "$link" ] && [ -L "$link" ]; then linked=1; fi
dt=$(readlink "$D" 2>/dev/null || true); made_d=0
restore() {
  if [ "$had" = 1 ]; then cp -p -- "$f.gantry-prev" "$f"; else rm -f -- "$f"; fi
  if [ -n "$link" ]; then if [ "$linked" = 1 ]; then ln -sfn -- "$f" "$link"; else rm -f -- "$link"; fi; fi
  if [ -n "$dt" ]; then ln -sfn -- "$dt" "$D"; elif [ "$made_d" = 1 ]; then rm -f -- "$D"; fi
}
umask 022
if ! { cat > "$f.gantry-tmp" && chmod 644 "$f.gantry-tmp" && mv -f -- "$f.gantry-tmp" "$f"; }; then rm -f -- "$f.gantry-tmp"; restore; exit 1; fi
if [ -n "$link" ] && ! ln -sfn -- "$f" "$link"; then restore; exit 1; fi
case "$dflt" in
  disable) if [ -L "$D" ]; then rm -f -- "$D"; fi;;
  enable) if [ ! -e "$D" ] && [ ! -L "$D" ] && [ -f "$A" ]; then ln -s -- "$A" "$D" && made_d=1; fi;;
esac
if ! out=$(nginx -t 2>&1); then
  restore
  printf '%s\\n' "$out" >&2
  if nginx -t >/dev/null 2>&1; then exit 10; else exit 11; fi
fi
${RELOAD_OR_START}
if [ "$ok" = 1 ]; then
  restore
  if [ "$act" = reloaded ]; then systemctl reload nginx >/dev/null 2>&1 || true; fi
  printf '%s\\n' "$out" >&2
  journalctl -u nginx -n 5 --no-pager -o cat >&2 2>/dev/null || true
  exit 12
fi
echo "$act"`;

/** Starts nginx when it is not running (the site is already in place). Exit 14: nginx -t fails; 12: it did not start. */
const ENSURE_RUNNING_SCRIPT = `${LOCK}
if systemctl is-active --quiet nginx; then exit 0; fi
if ! nginx -t >&2; then exit 14; fi
${RELOAD_OR_START}
if [ "$ok" = 1 ]; then printf '%s\\n' "$out" >&2; journalctl -u nginx -n 5 --no-pager -o cat >&2 2>/dev/null || true; exit 12; fi
echo "$act"`;

/**
 * $1 the sites-available file, $2 its sites-enabled link, $3 the conf.d file. Prints
 * "removed" when there was a site; reloads nginx then (when running). Exit 11: nginx -t
 * fails after the removal (nothing reloaded).
 */
const REMOVE_SCRIPT = `set -u
${LOCK}
D=${SITES_ENABLED}/default; A=${SITES_AVAILABLE}/default
found=0; marker=0
for f in "$1" "$3"; do
  if [ -f "$f" ]; then found=1; if grep -qxF '${DEFAULT_MARKER}' "$f"; then marker=1; fi; fi
done
if [ -L "$2" ] || [ -e "$2" ]; then found=1; fi
[ "$found" = 1 ] || exit 0
rm -f -- "$2" "$1" "$1.gantry-prev" "$3" "$3.gantry-prev"
if [ "$marker" = 1 ] && [ ! -e "$D" ] && [ ! -L "$D" ] && [ -f "$A" ]; then ln -s -- "$A" "$D"; fi
echo removed
if ! systemctl is-active --quiet nginx; then exit 0; fi
if ! nginx -t >&2; then exit 11; fi
systemctl reload nginx >&2 || exit 12`;

interface Probe {
  layout: 'sites' | 'confd';
  linked: boolean;
  stockDefault: boolean;
  ipv6: boolean;
  active: boolean;
  current?: string;
}

interface SitePaths {
  file: string;
  /** sites-enabled link ("" with conf.d). */
  link: string;
}

function pathsOf(app: string, layout: Probe['layout']): SitePaths {
  const name = nginxSiteName(app);
  return layout === 'sites' ? { file: `${SITES_AVAILABLE}/${name}`, link: `${SITES_ENABLED}/${name}` } : { file: `${CONF_D}/${name}`, link: '' };
}

async function probe(conn: SshConnection, app: string): Promise<Probe | undefined> {
  const sites = pathsOf(app, 'sites');
  const r = await conn.exec(['sh', '-c', PROBE_SCRIPT, 'gantry-nginx-probe', sites.file, pathsOf(app, 'confd').file, sites.link]);
  if (r.code !== 0) throw commandFailed(conn, 'look at nginx', r.stderr);
  const text = r.stdout.toString('utf8');
  const cut = text.indexOf('---\n');
  const keys = new Set((cut < 0 ? text : text.slice(0, cut)).split('\n').filter(Boolean));
  if (keys.has('nginx=missing')) return undefined;
  return {
    layout: keys.has('layout=sites') ? 'sites' : 'confd',
    linked: keys.has('linked=yes'),
    stockDefault: keys.has('stock_default=yes'),
    ipv6: keys.has('ipv6=yes'),
    active: keys.has('active=yes'),
    ...(cut < 0 ? {} : { current: text.slice(cut + 4) }),
  };
}

export interface NginxApplyResult {
  /** The site's file was written (its content differed, or it was missing). */
  changed: boolean;
  /** What happened to nginx: reloaded with the new site, started (it was not running), or nothing. */
  nginx: 'reloaded' | 'started' | 'unchanged';
}

/**
 * Puts the app's site in place on the host and makes it live; a no-op (apart from starting
 * a stopped nginx) when the site is already there with this content. On a failing `nginx -t`,
 * reload or start, the host's nginx configuration is put back as it was and a NGINX_FAILED
 * error names the host with nginx's own output.
 */
export async function applyNginxSite(conn: SshConnection, opts: NginxSiteOptions): Promise<NginxApplyResult> {
  renderNginxSite(opts); // validates everything before anything is sent
  const found = await probe(conn, opts.app);
  if (!found) throw new GantryError('NGINX_FAILED', `${conn.label}: nginx is not installed (reverse_proxy: nginx)`, INSTALL_HINT);
  const { file, link } = pathsOf(opts.app, found.layout);
  // Without a server_name this site is the default server: Debian's stock one must give way.
  const claimsDefault = opts.serverName === undefined && found.layout === 'sites';
  const disabledDefault = claimsDefault && (found.stockDefault || (found.current?.split('\n').includes(DEFAULT_MARKER) ?? false));
  const text = renderNginxSite({ ...opts, ipv6: opts.ipv6 ?? found.ipv6 }) + (disabledDefault ? `${DEFAULT_MARKER}\n` : '');
  const dflt = claimsDefault && found.stockDefault ? 'disable' : !claimsDefault && found.current?.split('\n').includes(DEFAULT_MARKER) ? 'enable' : 'keep';

  if (found.current === text && (found.layout === 'confd' || found.linked) && dflt === 'keep') {
    if (found.active) return { changed: false, nginx: 'unchanged' };
    const r = await conn.exec(['sh', '-c', ENSURE_RUNNING_SCRIPT, 'gantry-nginx-start']);
    if (r.code !== 0) throw nginxError(conn, opts.app, r.code, r.stderr);
    return { changed: false, nginx: r.stdout.toString('utf8').trim() === 'started' ? 'started' : 'unchanged' };
  }

  const r = await conn.exec(['sh', '-c', APPLY_SCRIPT, 'gantry-nginx-apply', file, link, dflt], { stdin: text });
  if (r.code !== 0) throw nginxError(conn, opts.app, r.code, r.stderr);
  return { changed: true, nginx: r.stdout.toString('utf8').trim() === 'started' ? 'started' : 'reloaded' };
}

/** Removes the app's site (stop, teardown) and reloads a running nginx; `changed` is false when there was none. */
export async function removeNginxSite(conn: SshConnection, app: string): Promise<{ changed: boolean }> {
  const sites = pathsOf(app, 'sites');
  const r = await conn.exec(['sh', '-c', REMOVE_SCRIPT, 'gantry-nginx-remove', sites.file, sites.link, pathsOf(app, 'confd').file]);
  if (r.code === 3) return { changed: false };
  if (r.code !== 0) throw nginxError(conn, app, r.code, r.stderr, 'removed');
  return { changed: r.stdout.toString('utf8').includes('removed') };
}

/** `gantry doctor`: nginx on the host, and the certificate and key files when tls is set. */
export async function checkNginx(conn: SshConnection, opts: { tls?: { certificate: string; key: string } } = {}): Promise<DoctorCheck[]> {
  const host = conn.label;
  const files = opts.tls ? [opts.tls.certificate, opts.tls.key] : [];
  const r = await conn.exec(['sh', '-c', 'command -v nginx >/dev/null 2>&1 || exit 3; nginx -v 2>&1; shift; for f in "$@"; do [ -r "$f" ] || echo "unreadable=$f"; done', 'gantry-nginx-check', '-', ...files]);
  if (r.code === 3) return [{ name: `${host}: nginx`, ok: false, detail: 'nginx is not installed (reverse_proxy: nginx)', hint: INSTALL_HINT }];
  if (r.code !== 0) return [{ name: `${host}: nginx`, ok: false, detail: r.stderr.toString('utf8').trim() || `exit ${r.code}`, hint: INSTALL_HINT }];
  const lines = r.stdout.toString('utf8').trim().split('\n');
  const checks: DoctorCheck[] = [{ name: `${host}: nginx`, ok: true, detail: lines[0]?.replace(/^nginx version: /, '') ?? 'nginx' }];
  if (opts.tls) {
    const missing = lines.filter((l) => l.startsWith('unreadable=')).map((l) => l.slice('unreadable='.length));
    checks.push(
      missing.length === 0
        ? { name: `${host}: tls files`, ok: true, detail: files.join(', ') }
        : { name: `${host}: tls files`, ok: false, detail: `not readable on the host: ${missing.join(', ')}`, hint: 'put the certificate and key on the host at the paths tls.certificate and tls.key name (readable by root)' },
    );
  }
  return checks;
}

/** nginx's own words, the last lines of them. */
function outputOf(stderr: Buffer): string {
  return stderr.toString('utf8').trim().split('\n').filter(Boolean).slice(-8).join('\n') || '(no output)';
}

function commandFailed(conn: SshConnection, what: string, stderr: Buffer): GantryError {
  return new GantryError('SSH_COMMAND_FAILED', `${conn.label}: could not ${what}: ${outputOf(stderr)}`, 'check the host (disk space, permissions under /etc/nginx) and run the command again');
}

function nginxError(conn: SshConnection, app: string, code: number | null, stderr: Buffer, state: 'restored' | 'removed' = 'restored'): GantryError {
  const out = outputOf(stderr);
  const kept = state === 'restored' ? 'the previous nginx configuration was put back' : "the app's site was removed";
  switch (code) {
    case 3:
      return new GantryError('NGINX_FAILED', `${conn.label}: nginx is not installed (reverse_proxy: nginx)`, INSTALL_HINT);
    case 10:
      return new GantryError('NGINX_FAILED', `${conn.label}: nginx -t failed with the site of ${app}:\n${out}`, `${kept} and nginx keeps serving it; check tls.certificate and tls.key (files on the host) and server_name`);
    case 11:
      return new GantryError('NGINX_FAILED', `${conn.label}: nginx's configuration is invalid, also without the site of ${app}:\n${out}`, `${kept}; fix the host's nginx configuration (run nginx -t there)`);
    case 12:
      return new GantryError('NGINX_FAILED', `${conn.label}: nginx could not be reloaded or started:\n${out}`, `${kept}; see journalctl -u nginx on the host (is another server using the port?)`);
    case 14:
      return new GantryError('NGINX_FAILED', `${conn.label}: nginx is not running and its configuration fails nginx -t:\n${out}`, "fix the host's nginx configuration (run nginx -t there), then deploy again");
    default:
      return commandFailed(conn, `change the nginx site of ${app}`, stderr);
  }
}
