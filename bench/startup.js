// CLI and agent start-up, side by side with `node -e 0` in the same run:
// `gantry --version` (spawn to exit), CLI start to the engine's `plan` event of a
// redeploy (from `gantry events`), and the agent from spawn to ready (its
// agent.json written, what `AgentClient.ensure` waits for). Samples interleave, so
// a busy moment of the machine weighs on both sides of each ratio.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from './lib/app.js';
import { checkAborted, killPid, onCleanup } from './lib/cleanup.js';
import { bumpApp, cliBoot, deployBreakdown, gantry, makeApp, ROOT, succeeded } from './lib/gantry.js';
import { median, now, ratio, sleep, summarize } from './lib/timing.js';

/** ms from spawning `node <args>` to its exit. */
function spawnToExit(args) {
  return new Promise((resolve) => {
    const t0 = now();
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('close', () => resolve(now() - t0));
    child.on('error', () => resolve(NaN));
  });
}

/** ms from spawning the local agent (as `gantry` does) to its agent.json naming its pid; the agent is then stopped. */
async function agentReady(entry) {
  checkAborted();
  const dir = mkdtempSync(join(tmpdir(), 'gantry-bench-agent-'));
  const port = await freePort();
  const t0 = now();
  const child = spawn(process.execPath, [entry, '--dir', dir, '--host', '127.0.0.1', '--port', String(port)], { stdio: 'ignore', env: { ...process.env, GANTRY_AGENT: '1' } });
  const stop = onCleanup(`bench agent pid ${child.pid}`, async () => {
    await killPid(child.pid, { graceMs: 3000 });
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    const file = join(dir, 'agent.json');
    for (let i = 0; i < 5000; i++) {
      if (existsSync(file)) {
        try {
          if (JSON.parse(readFileSync(file, 'utf8')).pid === child.pid) return now() - t0;
        } catch {
          /* being written */
        }
      }
      if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode} before it was ready`);
      await sleep(1);
    }
    throw new Error('agent not ready after 5000 polls');
  } finally {
    await stop();
  }
}

/**
 * A redeploy's start-up split by the marks the CLI wrote (src/core/startup-marks.ts), in ms:
 * spawn (the bench's spawn to the process's time origin), node (Node's own start, to bin/gantry.js),
 * bundle (reading and compiling the bundle with its code cache), modules (evaluating them),
 * command (the command's module and its arguments), engine (the command's action to the plan event).
 */
function startupPhases(file, spawnedAt, planAt) {
  let m;
  try {
    m = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const { bin, compiled, main, action } = m.marks;
  if (![bin, compiled, main, action].every(Number.isFinite)) return undefined;
  return { spawn: m.timeOrigin - spawnedAt, node: bin, bundle: compiled - bin, modules: main - compiled, command: action - main, engine: planAt - (m.timeOrigin + action) };
}

export async function benchStartup({ quick, log }) {
  const rounds = quick ? 5 : 15;
  const redeploys = quick ? 3 : 10;
  const { agentEntry } = await import(pathToFileURL(join(ROOT, 'dist', 'agent', 'client.js')).href);
  const entry = agentEntry();
  const nodeE0 = [];
  const version = [];
  const agent = [];
  for (let i = 0; i < rounds; i++) {
    checkAborted();
    nodeE0.push(await spawnToExit(['-e', '0']));
    version.push(await cliBoot());
    agent.push(await agentReady(entry));
  }
  log(`  node -e 0 ${Math.round(median(nodeE0))} ms, gantry --version ${Math.round(median(version))} ms, agent ready ${Math.round(median(agent))} ms (medians of ${rounds})`);

  // CLI start to the plan: redeploys of a changed app, each after a `node -e 0` sample.
  const app = makeApp({ name: 'startup' });
  const toPlan = [];
  const planFloor = [];
  const split = {};
  try {
    succeeded(await gantry(app, ['deploy']), 'initial deploy');
    const marksFile = join(app.base, 'startup-marks.json');
    for (let i = 0; i < redeploys; i++) {
      checkAborted();
      planFloor.push(await spawnToExit(['-e', '0']));
      bumpApp(app);
      rmSync(marksFile, { force: true });
      const r = succeeded(await gantry(app, ['deploy'], { env: { GANTRY_STARTUP_MARKS: marksFile } }), `redeploy ${i + 1}`);
      const b = await deployBreakdown(app, r);
      if (!Number.isFinite(b?.phases?.cli_to_plan)) continue;
      toPlan.push(b.phases.cli_to_plan);
      const phases = startupPhases(marksFile, r.startedAt, r.startedAt + b.phases.cli_to_plan);
      for (const [k, v] of Object.entries(phases ?? {})) (split[k] ??= []).push(v);
    }
  } finally {
    await app.cleanup();
  }
  const splitMedians = Object.fromEntries(Object.entries(split).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]));
  log(`  CLI start to plan ${Math.round(median(toPlan))} ms (node -e 0 ${Math.round(median(planFloor))} ms): ${Object.entries(splitMedians).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')} ms (medians)`);
  const nodeAll = [...nodeE0, ...planFloor];
  return {
    agent_entry: entry,
    node_e0_ms: summarize(nodeAll),
    version_ms: summarize(version),
    cli_to_plan_ms: summarize(toPlan),
    agent_ready_ms: summarize(agent),
    cli_to_plan_split_ms: splitMedians,
    version_ratio: ratio(median(version), median(nodeE0)),
    cli_to_plan_ratio: ratio(median(toPlan), median(planFloor)),
    agent_ready_ratio: ratio(median(agent), median(nodeE0)),
    goals: { version_ratio: 1.5, cli_to_plan_ms: 60, agent_ready_ms: 100 },
  };
}
