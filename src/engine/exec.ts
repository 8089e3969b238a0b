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
import { open } from './open.js';
import { appEnv } from './release-secrets.js';
import { currentRelease, releaseRef } from './releases.js';
import type { ExecIO } from './target.js';

export interface ExecOptions {
  argv: string[];
  instance?: string;
  io: ExecIO;
  /** Capture stdout/stderr (bounded, secret values redacted) instead of streaming them: for `--json`. */
  capture?: boolean;
}

export interface ExecResult {
  app: string;
  target: string;
  release: string;
  instance?: string;
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
    let rec = currentRelease(engine, o);
    if (opts.instance) {
      const running = (await o.runtime.instances()).filter((i) => i.state !== 'stopped');
      const inst = running.find((i) => i.id === opts.instance);
      if (!inst) throw new GantryError('USAGE', `no running instance "${opts.instance}" of ${o.app} on ${o.name}`, running.length ? `running instances: ${running.map((i) => i.id).join(', ')}` : 'nothing runs: `gantry start` first, or leave out --instance');
      // The instance's own release: during a rollout it may be the previous or the next one.
      rec = engine.store.getRelease(o.app, o.name, inst.release) ?? rec;
    }
    const rel = await releaseRef(engine, rec);
    engine.store.audit(engine.opts.actor, 'exec', o.app, o.name, { release: rel.id, instance: opts.instance, program: opts.argv[0] });
    const env = appEnv(o, rel, opts.instance ?? 'exec');
    if (!opts.capture) {
      const r = await o.runtime.exec({ release: rel, argv: opts.argv, env, secretEnv: rel.secretEnv, instance: opts.instance, io: opts.io });
      return { app: o.app, target: o.name, release: rel.id, instance: opts.instance, argv: opts.argv, exit_code: r.exitCode };
    }
    // --json: the output becomes part of one document, so it is bounded and never carries a secret value.
    const out = new TailBuffer();
    const err = new TailBuffer();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (d: Buffer) => out.push(d));
    stderr.on('data', (d: Buffer) => err.push(d));
    const r = await o.runtime.exec({ release: rel, argv: opts.argv, env, secretEnv: rel.secretEnv, instance: opts.instance, io: { ...opts.io, stdout, stderr, tty: false } });
    const clean = (t: string): string => redactSecrets(engine.redactFor(o.app)(t), rel.secretEnv);
    return { app: o.app, target: o.name, release: rel.id, instance: opts.instance, argv: opts.argv, exit_code: r.exitCode, stdout: clean(out.text()), stderr: clean(err.text()) };
  } finally {
    await o.runtime.close();
  }
}
