/**
 * `gantry doctor` predicting a failed docker build before a deploy finds out:
 * the base image has pip when the app has requirements, and a build container
 * reaches the package registry this host reaches (a host behind a TLS-inspecting
 * proxy trusts an extra CA that containers do not: `npm ci` then fails with
 * SELF_SIGNED_CERT_IN_CHAIN inside the build only). Everything runs as argv.
 */
import type Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type { DoctorCheck, TargetContext } from '../../engine/target.js';
import type { DockerConfig } from './config.js';
import { BASE_IMAGES, detectRuntime } from './dockerfile.js';

const PROBE_TIMEOUT_MS = 20_000;

/** The image a build starts from: the app's Dockerfile's first FROM, or the generated one's. */
function baseImage(ctx: TargetContext<DockerConfig>): { image: string; runtime?: 'node' | 'python' } | undefined {
  const build = ctx.build;
  const dir = resolve(ctx.appDir, build?.context ?? '.');
  const runtime = detectRuntime(dir);
  const own = join(dir, build?.dockerfile ?? 'Dockerfile');
  if (existsSync(own)) {
    const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)/im.exec(readFileSync(own, 'utf8'))?.[1];
    return from && !from.includes('$') ? { image: from, runtime } : undefined;
  }
  return runtime ? { image: BASE_IMAGES[runtime], runtime } : undefined;
}

/** Run a short command in a throwaway container of `image`; its exit code and output. */
async function probe(docker: Docker, image: string, cmd: string[]): Promise<{ code: number; output: string }> {
  const out = new PassThrough();
  let output = '';
  out.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  const run = docker.run(image, cmd, out, { Entrypoint: [], HostConfig: { AutoRemove: true }, Labels: { 'dev.gantry.role': 'doctor' } });
  const timer = new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no answer in ${PROBE_TIMEOUT_MS / 1000}s`)), PROBE_TIMEOUT_MS).unref());
  const [data] = (await Promise.race([run, timer])) as [{ StatusCode: number }];
  return { code: data.StatusCode, output: output.trim() };
}

function hostNpm(key: string): string | undefined {
  try {
    const v = execFileSync('npm', ['config', 'get', key], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return v && v !== 'null' && v !== 'undefined' ? v : undefined;
  } catch {
    return undefined;
  }
}

async function hostReaches(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(8_000) });
    return r.status < 500;
  } catch {
    return false;
  }
}

const hasDeps = (dir: string, runtime: 'node' | 'python'): boolean => {
  if (runtime === 'python') return existsSync(join(dir, 'requirements.txt')) && readFileSync(join(dir, 'requirements.txt'), 'utf8').split('\n').some((l) => l.replace(/#.*/, '').trim() && !l.trim().startsWith('-'));
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies?: object; devDependencies?: object };
    return Object.keys(pkg.dependencies ?? {}).length + Object.keys(pkg.devDependencies ?? {}).length > 0;
  } catch {
    return false;
  }
};

export async function buildChecks(docker: Docker, ctx: TargetContext<DockerConfig>): Promise<DoctorCheck[]> {
  const base = baseImage(ctx);
  if (!base?.runtime) return [];
  const dir = resolve(ctx.appDir, ctx.build?.context ?? '.');
  if (!hasDeps(dir, base.runtime)) return [];
  const present = await docker.getImage(base.image).inspect().then(() => true, () => false);
  if (!present) return [{ name: `docker: build base image`, ok: true, detail: `${base.image} is not on the engine yet: the first build pulls it (the checks of pip and the registry run once it is there)` }];
  const checks: DoctorCheck[] = [];
  if (base.runtime === 'python') {
    const r = await probe(docker, base.image, ['python3', '-m', 'pip', '--version']).catch((e: Error) => ({ code: -1, output: e.message }));
    checks.push(r.code === 0 ? { name: 'docker: pip in the base image', ok: true, detail: `${base.image}: ${r.output.split('\n')[0]}` } : { name: 'docker: pip in the base image', ok: false, detail: `requirements.txt lists packages but ${base.image} has no pip (${r.output.split('\n').pop() || `exit ${r.code}`}): the build would fail installing them`, hint: 'start from an image with pip (e.g. python:3.11-slim), or install it first in the Dockerfile (RUN apt-get install -y python3-pip)' });
  }
  // The registry the host's package manager uses, tried from a container of the base image.
  const registry = base.runtime === 'node' ? (hostNpm('registry') ?? 'https://registry.npmjs.org/') : (process.env.PIP_INDEX_URL ?? 'https://pypi.org/simple/');
  const name = `docker: ${base.runtime === 'node' ? 'npm' : 'pip'} registry from a build`;
  if (!(await hostReaches(registry))) {
    checks.push({ name, ok: true, detail: `${registry} does not answer from this host either: not checked` });
    return checks;
  }
  const cmd = base.runtime === 'node'
    ? ['node', '-e', 'fetch(process.argv[1]).then(r=>console.log("HTTP "+r.status),e=>{console.log(String(e.cause&&e.cause.code||e.message));process.exit(1)})', registry]
    : ['python3', '-c', 'import sys,urllib.request\ntry:\n urllib.request.urlopen(sys.argv[1],timeout=10);print("ok")\nexcept Exception as e:\n print(getattr(e,"reason",e));sys.exit(1)', registry];
  const r = await probe(docker, base.image, cmd).catch((e: Error) => ({ code: -1, output: e.message }));
  if (r.code === 0) {
    checks.push({ name, ok: true, detail: `a container of ${base.image} reaches ${registry}` });
    return checks;
  }
  const cert = /CERT|certificate|SSL/i.test(r.output);
  const ca = [base.runtime === 'node' ? hostNpm('cafile') : undefined, process.env.NODE_EXTRA_CA_CERTS, process.env.PIP_CERT, process.env.REQUESTS_CA_BUNDLE].filter((x): x is string => Boolean(x));
  checks.push({
    name,
    ok: false,
    detail: `this host reaches ${registry} but a container of ${base.image} does not (${r.output.split('\n').pop()}): ${base.runtime === 'node' ? '`npm ci`' : '`pip install`'} would fail in the build${cert ? '; the host trusts a CA the image does not' : ''}`,
    hint: cert
      ? `give the build the CA the host trusts${ca.length ? ` (${[...new Set(ca)].join(', ')})` : ''}: in your Dockerfile, copy it in and point ${base.runtime === 'node' ? 'NODE_EXTRA_CA_CERTS (or npm config cafile)' : 'PIP_CERT'} at it for the install step, or install it with update-ca-certificates`
      : `let containers reach ${registry} (proxy settings, DNS, firewall), or point the build at a registry they reach`,
  });
  return checks;
}
