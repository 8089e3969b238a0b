/**
 * `gantry exec -- CMD ...`: a one-off command in a release's environment (its env,
 * secrets at the release's versions, persist paths), with the caller's stdio.
 * No deploy lock: like `heroku run`, it runs beside whatever happens.
 */
import { PassThrough } from 'node:stream';
import { TailBuffer } from '../core/bounded.js';
import { GantryError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { LoadedManifest } from '../manifest/index.js';
import type { EngineContext } from './context.js';
import { selectHosts } from './hosts.js';
import { openNodes } from './nodes.js';
import { open } from './open.js';
import { appEnv } from './release-secrets.js';
import { currentRelease, releaseRef } from './releases.js';
import type { ExecIO } from './target.js';

export interface ExecOptions {
  argv: string[];
  instance?: string;
  /** Many-node targets: the node (host) to run it on; default: the instance's node, else the first node. */
  host?: string;
  io: ExecIO;
  /** Capture stdout/stderr (bounded, secret values redacted) instead of streaming them: for `--json`. */
  capture?: boolean;
}

export interface ExecResult {
  app: string;
  target: string;
  release: string;
  instance?: string;
  /** Many-node targets: the node it ran on. */
  node?: string;
  argv: string[];
  exit_code: number;
  stdout?: string;
  stderr?: string;
}

export async function exec(engine: EngineContext, loaded: LoadedManifest, targetName: string | undefined, opts: ExecOptions): Promise<ExecResult> {
  if (opts.argv.length === 0) throw new GantryError('USAGE', 'no command given', 'put the command after --, e.g. gantry exec -- node scripts/migrate.js');
  const o = await open(engine, loaded, targetName);
  try {
    if (!o.runtime.exec) throw new GantryError('USAGE', `target ${o.name} (${o.target.type}) cannot run one-off commands`, 'hooks (hooks.pre_deploy) run commands on every target');
    await selectHosts(engine, o, opts.host ? [opts.host] : undefined);
    const nodes = await openNodes(engine, o);
    // One place runs it: the node named, else the instance's, else the first node.
    let node = opts.host ?? nodes?.[0]?.name;
    let runtime = opts.host ? nodes!.find((n) => n.name === opts.host)!.runtime : o.runtime;
    let rec = currentRelease(engine, o);
    if (opts.instance) {
      const running = (await runtime.instances()).filter((i) => i.state !== 'stopped');
      const inst = running.find((i) => i.id === opts.instance);
      if (!inst) throw new GantryError('USAGE', `no running instance "${opts.instance}" of ${o.app} on ${opts.host ?? o.name}`, running.length ? `running instances: ${running.map((i) => i.id).join(', ')}` : 'nothing runs: `gantry start` first, or leave out --instance');
      // The instance's own release: during a rollout it may be the previous or the next one.
      rec = engine.store.getRelease(o.app, o.name, inst.release) ?? rec;
      node = opts.host ?? inst.node ?? node;
    }
    if (nodes && node) runtime = nodes.find((n) => n.name === node)?.runtime ?? runtime;
    const exec = runtime.exec?.bind(runtime);
    if (!exec) throw new GantryError('USAGE', `node ${node} of target ${o.name} cannot run one-off commands`, 'hooks (hooks.pre_deploy) run commands on every target');
    const where = nodes ? { node } : {};
    const rel = await releaseRef(engine, rec);
    engine.store.audit(engine.opts.actor, 'exec', o.app, o.name, { release: rel.id, instance: opts.instance, ...where, program: opts.argv[0] });
    const env = appEnv(o, rel, opts.instance ?? 'exec');
    if (!opts.capture) {
      const r = await exec({ release: rel, argv: opts.argv, env, secretEnv: rel.secretEnv, instance: opts.instance, io: opts.io });
      return { app: o.app, target: o.name, release: rel.id, instance: opts.instance, ...where, argv: opts.argv, exit_code: r.exitCode };
    }
    // --json: the output becomes part of one document, so it is bounded and never carries a secret value.
    const out = new TailBuffer();
    const err = new TailBuffer();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (d: Buffer) => out.push(d));
    stderr.on('data', (d: Buffer) => err.push(d));
    const r = await exec({ release: rel, argv: opts.argv, env, secretEnv: rel.secretEnv, instance: opts.instance, io: { ...opts.io, stdout, stderr, tty: false } });
    const clean = (t: string): string => redactSecrets(engine.redactFor(o.app)(t), rel.secretEnv);
    return { app: o.app, target: o.name, release: rel.id, instance: opts.instance, ...where, argv: opts.argv, exit_code: r.exitCode, stdout: clean(out.text()), stderr: clean(err.text()) };
  } finally {
    await o.runtime.close();
  }
}
