/**
 * What a docker build needs from this host to reach the package registry the host reaches
 * (issue 20, point 13): the CA bundle the host's npm/pip trust (a TLS-inspecting proxy's CA
 * makes `npm ci` fail with SELF_SIGNED_CERT_IN_CHAIN in a container otherwise), npm's
 * registry, proxy and strict-ssl settings, pip's index settings, and the proxy variables.
 *
 * Files and variables go to a build-only stage of a generated Dockerfile (the final image
 * copies the app's files from it, never the settings); the proxy variables go as Docker's
 * predefined build args, which are not recorded in the image. Auth tokens are never carried:
 * a private registry's token belongs in the app's own Dockerfile as a build secret.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { AppRuntime } from './dockerfile.js';

/** Where the settings sit in the build context, and in the build stage once moved. */
export const BUILD_SETTINGS_DIR = '.gantry-build';
export const BUILD_SETTINGS_PATH = '/gantry-build';
const MAX_CA_BYTES = 4 * 1024 * 1024;
/** npm settings that say where and how to reach a registry (no credentials). */
const NPM_KEYS = ['registry', 'strict-ssl', 'proxy', 'https-proxy', 'noproxy'];
const PIP_ENV = ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_TRUSTED_HOST'];
const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

export interface HostBuildSettings {
  /** Files of the build stage, by name under BUILD_SETTINGS_DIR. */
  files: Record<string, string>;
  /** Variables of the build stage only. */
  env: Record<string, string>;
  /** What was carried, by name only (for the build's info line and `gantry plan`). */
  carried: string[];
}

function npmConfig(): Record<string, unknown> {
  try {
    return JSON.parse(execFileSync('npm', ['config', 'list', '--json'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The first of these files that holds certificates (and is of a sane size). */
function caBundle(paths: Array<string | undefined>): { path: string; text: string } | undefined {
  for (const p of paths) {
    if (!p || !existsSync(p)) continue;
    try {
      if (statSync(p).size > MAX_CA_BYTES) continue;
      const text = readFileSync(p, 'utf8');
      if (text.includes('BEGIN CERTIFICATE')) return { path: p, text };
    } catch {
      /* unreadable: next */
    }
  }
  return undefined;
}

/** An ini value on one line (npmrc and pip.conf read the rest of the line). */
const oneLine = (v: unknown): string | undefined => (typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number' ? String(v).replace(/[\r\n]/g, '') : undefined);

export function hostBuildSettings(runtime: AppRuntime): HostBuildSettings {
  const files: Record<string, string> = {};
  const env: Record<string, string> = {};
  const carried: string[] = [];
  const ca = `${BUILD_SETTINGS_PATH}/ca.pem`;
  if (runtime === 'node') {
    const cfg = npmConfig();
    const bundle = caBundle([oneLine(cfg.cafile), process.env.NODE_EXTRA_CA_CERTS]);
    const lines: string[] = [];
    for (const [k, v] of Object.entries(cfg)) {
      const value = oneLine(v);
      if (value === undefined || value === '' || value === 'null') continue;
      if (NPM_KEYS.includes(k) || /^@[^:/\s]+:registry$/.test(k)) lines.push(`${k}=${value}`);
    }
    if (bundle) {
      files['ca.pem'] = bundle.text;
      lines.push(`cafile=${ca}`);
      env.NODE_EXTRA_CA_CERTS = ca;
      carried.push(`the CA bundle npm trusts (${bundle.path})`);
    }
    if (lines.length) {
      files.npmrc = lines.map((l) => `${l}\n`).join('');
      env.NPM_CONFIG_USERCONFIG = `${BUILD_SETTINGS_PATH}/npmrc`;
      carried.push(`npm settings (${lines.map((l) => l.slice(0, l.indexOf('='))).join(', ')})`);
    }
  } else {
    const bundle = caBundle([process.env.PIP_CERT, process.env.REQUESTS_CA_BUNDLE, process.env.SSL_CERT_FILE]);
    if (bundle) {
      files['ca.pem'] = bundle.text;
      Object.assign(env, { PIP_CERT: ca, REQUESTS_CA_BUNDLE: ca, SSL_CERT_FILE: ca });
      carried.push(`the CA bundle pip trusts (${bundle.path})`);
    }
    const pip = PIP_ENV.filter((k) => oneLine(process.env[k]));
    if (pip.length) {
      files['pip.conf'] = `[global]\n${pip.map((k) => `${k.slice(4).toLowerCase().replace(/_/g, '-')} = ${oneLine(process.env[k])}\n`).join('')}`;
      env.PIP_CONFIG_FILE = `${BUILD_SETTINGS_PATH}/pip.conf`;
      carried.push(`pip settings (${pip.join(', ')})`);
    }
  }
  return { files, env, carried };
}

/** Docker's predefined proxy build args from this host's environment (every build; not recorded in the image). */
export function proxyBuildArgs(): Record<string, string> {
  return Object.fromEntries(PROXY_ARGS.filter((k) => process.env[k]).map((k) => [k, process.env[k]!]));
}
