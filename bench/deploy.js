// 1. Deploy overhead: `gantry deploy` wall time ÷ the floor (the same app started
// by hand until its first healthy /health, polled every 10 ms).
import { measureFloor } from './lib/app.js';
import { bumpApp, cliBoot, deployBreakdown, gantry, makeApp } from './lib/gantry.js';
import { checkAborted } from './lib/cleanup.js';
import { median, ratio, summarize } from './lib/timing.js';

/** Median of each phase across breakdowns, in ms. */
export function medianPhases(breakdowns) {
  const keys = [...new Set(breakdowns.flatMap((b) => Object.keys(b?.phases ?? {})))];
  const out = {};
  for (const k of keys) out[k] = Math.round(median(breakdowns.map((b) => b?.phases?.[k]).filter(Number.isFinite)));
  return out;
}

export async function benchDeploy({ quick, log }) {
  const floorRuns = quick ? 3 : 7;
  const firstRuns = quick ? 1 : 3;
  const redeploys = quick ? 3 : 5;

  log(`floor: ${floorRuns} hand starts of node server.js until healthy`);
  const floor = await measureFloor(floorRuns);
  const boot = [];
  for (let i = 0; i < floorRuns; i++) boot.push(await cliBoot());

  // First deploys: fresh state dir, the agent and its proxy start too.
  const first = [];
  const stops = [];
  for (let i = 0; i < firstRuns; i++) {
    const app = makeApp({ name: `deploy-first-${i}` });
    try {
      const r = await gantry(app, ['deploy']);
      if (r.json?.status !== 'succeeded') throw new Error(`first deploy failed: ${r.stdout || r.stderr}`);
      first.push({ wall_ms: r.wallMs, engine_ms: r.json.duration_ms, breakdown: await deployBreakdown(app, r) });
    } finally {
      await app.cleanup();
      stops.push(app.stopMs);
    }
  }

  // Redeploys of a changed app (rolling, 1 instance, watch 0).
  const app = makeApp({ name: 'deploy' });
  const redeploy = [];
  try {
    const r0 = await gantry(app, ['deploy']);
    if (r0.json?.status !== 'succeeded') throw new Error(`initial deploy failed: ${r0.stdout || r0.stderr}`);
    for (let i = 0; i < redeploys; i++) {
      checkAborted();
      bumpApp(app);
      const r = await gantry(app, ['deploy']);
      if (r.json?.status !== 'succeeded') throw new Error(`redeploy ${i + 1} failed: ${r.stdout || r.stderr}`);
      redeploy.push({ wall_ms: r.wallMs, engine_ms: r.json.duration_ms, breakdown: await deployBreakdown(app, r) });
      log(`  redeploy ${i + 1}/${redeploys}: ${Math.round(r.wallMs)} ms (engine ${r.json.duration_ms} ms)`);
    }
  } finally {
    await app.cleanup();
    stops.push(app.stopMs);
  }

  const redeployMedian = median(redeploy.map((d) => d.wall_ms));
  const firstMedian = median(first.map((d) => d.wall_ms));
  return {
    floor: { samples_ms: floor.samples, ...summarize(floor.samples) },
    cli_boot_ms: summarize(boot),
    stop_wall_ms: summarize(stops.filter(Number.isFinite)),
    first_deploy: { wall_ms: summarize(first.map((d) => d.wall_ms)), engine_ms: summarize(first.map((d) => d.engine_ms)), phases_median_ms: medianPhases(first.map((d) => d.breakdown)), runs: first },
    redeploy: { wall_ms: summarize(redeploy.map((d) => d.wall_ms)), engine_ms: summarize(redeploy.map((d) => d.engine_ms)), phases_median_ms: medianPhases(redeploy.map((d) => d.breakdown)), runs: redeploy },
    ratio: ratio(redeployMedian, floor.median),
    first_ratio: ratio(firstMedian, floor.median),
  };
}
