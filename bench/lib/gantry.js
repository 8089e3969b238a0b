// Runs the real Gantry CLI (node bin/gantry.js ... --json) against throwaway
// copies of examples/hello-node, and undoes everything they leave running.
import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { aborted, checkAborted, killPid, onCleanup, runsUnder } from './cleanup.js';
import { now } from './timing.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GANTRY_BIN = join(ROOT, 'bin', 'gantry.js');
export const EXAMPLE_DIR = join(ROOT, 'examples', 'hello-node');

/**
 * Run `gantry <args> -f <manifest> --json` in an app dir.
 * Resolves { code, json, stdout, stderr, wallMs, startedAt, endedAt } (epoch ms for the last two);
 * the CLI is killed (by its pid) when it runs past timeoutMs.
 */
export function gantry(app, args, { timeoutMs = 120_000, env = {} } = {}) {
  const isStop = args[0] === 'stop';
  if (!isStop && aborted()) return Promise.resolve({ code: 'aborted', json: undefined, stdout: '', stderr: 'aborted', wallMs: NaN, startedAt: Date.now(), endedAt: Date.now() });
  return new Promise((resolvePromise) => {
    const startedAt = Date.now();
    const t0 = now();
    const child = spawn(process.execPath, [GANTRY_BIN, ...args, '-f', app.manifest, '--json'], {
      cwd: app.dir,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // On abort, a CLI in flight is killed (by pid) before its app is stopped; `stop` itself is left to finish.
    const unregister = isStop ? undefined : onCleanup(`gantry ${args[0]} pid ${child.pid}`, () => killPid(child.pid, { graceMs: 3000 }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void killPid(child.pid, { graceMs: 2000 });
    }, timeoutMs);
    child.on('error', (err) => (stderr += err.message));
    child.on('close', (code) => {
      clearTimeout(timer);
      unregister?.cancel();
      const wallMs = now() - t0;
      let json;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolvePromise({ code: timedOut ? 'timeout' : code, json, stdout, stderr, wallMs, startedAt, endedAt: Date.now() });
    });
  });
}

/** Wall time of the bare CLI (node + module loading + commander), `gantry --version`. */
export function cliBoot() {
  return new Promise((resolvePromise) => {
    const t0 = now();
    const child = spawn(process.execPath, [GANTRY_BIN, '--version'], { stdio: 'ignore' });
    child.on('close', () => resolvePromise(now() - t0));
    child.on('error', () => resolvePromise(NaN));
  });
}

/**
 * A fresh copy of examples/hello-node in a temp dir, its manifest rewritten with
 * `instances` and `strategy` (watch: 0 unless given), then by `edit(doc)` when
 * given (it may change the parsed manifest in place). Registers its cleanup:
 * `gantry stop`, then a kill by pid of anything still alive, then the dir goes.
 */
export function makeApp({ name = 'app', instances = 1, strategy = {}, keep = false, edit } = {}) {
  checkAborted();
  const base = mkdtempSync(join(tmpdir(), `gantry-bench-${name}-`));
  const dir = join(base, 'app');
  cpSync(EXAMPLE_DIR, dir, { recursive: true, filter: (p) => !p.split('/').includes('.gantry') });
  const manifest = join(dir, 'gantry.yaml');
  const doc = parse(readFileSync(manifest, 'utf8'));
  doc.run.instances = instances;
  doc.strategy = { ...doc.strategy, watch: 0, ...strategy };
  edit?.(doc);
  writeFileSync(manifest, stringify(doc));
  const app = { name, base, dir, manifest, rev: 0, stopMs: undefined };
  app.cleanup = onCleanup(`app ${name} (${dir})`, () => teardownApp(app, keep));
  return app;
}

/** Rewrite the app's manifest: `edit(doc)` changes the parsed document in place. */
export function editManifest(app, edit) {
  const doc = parse(readFileSync(app.manifest, 'utf8'));
  edit(doc);
  writeFileSync(app.manifest, stringify(doc));
}

/** Change the app's code (a comment line), so the next deploy builds a new release. */
export function bumpApp(app) {
  app.rev += 1;
  appendFileSync(join(app.dir, 'server.js'), `// bench revision ${app.rev}\n`);
}

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Agent and instance pids recorded under the app's .gantry (agent.json, state.json). */
function recordedPids(app) {
  const agentsRoot = join(app.dir, '.gantry', 'apps');
  const out = { agents: [], instances: [] };
  if (!existsSync(agentsRoot)) return out;
  for (const a of readdirSync(agentsRoot)) {
    const targets = join(agentsRoot, a, 'agents');
    if (!existsSync(targets)) continue;
    for (const t of readdirSync(targets)) {
      const info = readJson(join(targets, t, 'agent.json'));
      if (info?.pid) out.agents.push(info.pid);
      for (const i of readJson(join(targets, t, 'state.json'))?.instances ?? []) if (i.pid) out.instances.push(i.pid);
    }
  }
  return out;
}

async function teardownApp(app, keep) {
  const r = await gantry(app, ['stop'], { timeoutMs: 30_000 });
  app.stopMs = r.wallMs;
  // Belt and braces: whatever `gantry stop` left behind, by pid (instances run as process groups).
  const pids = recordedPids(app);
  for (const pid of pids.instances) if (runsUnder(pid, app.base)) await killPid(pid, { group: true, graceMs: 2000 });
  for (const pid of pids.agents) if (runsUnder(pid, app.base)) await killPid(pid, { graceMs: 2000 });
  if (!keep) rmSync(app.base, { recursive: true, force: true });
}

/**
 * Where the time of one deployment went, from `gantry events <id> --json`:
 * cli_to_plan (process start to the first event), one entry per step kind
 * (time from that step's start to the next step's start), finish (last step to
 * the result event) and exit (result event to process exit).
 */
export async function deployBreakdown(app, run) {
  const id = run.json?.id;
  if (!id) return undefined;
  const ev = await gantry(app, ['events', id, '-n', '500'], { timeoutMs: 30_000 });
  const events = Array.isArray(ev.json) ? ev.json : [];
  const at = (e) => Date.parse(e.at);
  const plan = events.find((e) => e.step === 'plan');
  const result = events.find((e) => e.step === 'result');
  const starts = events.filter((e) => e.data && typeof e.data === 'object' && e.data.kind === e.step);
  if (!plan || !result) return undefined;
  const phases = { cli_to_plan: at(plan) - run.startedAt };
  const marks = [{ name: 'plan', t: at(plan) }, ...starts.map((e) => ({ name: e.step, t: at(e) })), { name: 'finish', t: at(result) }];
  for (let i = 0; i < marks.length - 1; i++) {
    phases[marks[i].name] = (phases[marks[i].name] ?? 0) + (marks[i + 1].t - marks[i].t);
  }
  phases.exit = run.endedAt - at(result);
  const healthy = events.filter((e) => e.step === 'checkHealth' && /healthy after (\d+)ms/.test(e.message)).map((e) => Number(/healthy after (\d+)ms/.exec(e.message)[1]));
  return { phases, health_wait_ms: healthy, engine_duration_ms: run.json.duration_ms };
}

/** The CLI's --json result, or an Error naming what failed (status other than succeeded, or no JSON). */
export function succeeded(r, what) {
  if (r.json?.status !== 'succeeded') throw new Error(`${what} failed (exit ${r.code}): ${(r.stdout || r.stderr).slice(0, 2000)}`);
  return r;
}
