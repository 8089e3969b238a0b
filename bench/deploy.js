// 1. Deploy overhead: `gantry deploy` wall time ÷ the floor (the same app started
// by hand until its first healthy /health, polled every 10 ms). Floor and bare
// CLI boot samples are interleaved with the deploys, so a busy moment of the
// machine weighs on both sides of the ratio.
import { floorSample } from './lib/app.js';
import { checkAborted } from './lib/cleanup.js';
import { bumpApp, cliBoot, deployBreakdown, gantry, makeApp } from './lib/gantry.js';
import { median, ratio, summarize } from './lib/timing.js';

/** Median of each phase across breakdowns, in ms. */
export function medianPhases(breakdowns) {
  const keys = [...new Set(breakdowns.flatMap((b) => Object.keys(b?.phases ?? {})))];
  const out = {};
  for (const k of keys) out[k] = Math.round(median(breakdowns.map((b) => b?.phases?.[k]).filter(Number.isFinite)));
  return out;
}

const ok = (r, what) => {
  if (r.json?.status !== 'succeeded') throw new Error(`${what} failed: ${r.stdout || r.stderr}`);
  return r;
};

export async function benchDeploy({ quick, log }) {
  const firstRuns = quick ? 1 : 3;
  const redeploys = quick ? 3 : 5;
  const floor = [];
  const boot = [];
  const stops = [];

  // First deploys: fresh state dir, so the agent and its proxy start too.
  const first = [];
  for (let i = 0; i < firstRuns; i++) {
    floor.push(await floorSample());
    boot.push(await cliBoot());
    const app = makeApp({ name: `deploy-first-${i}` });
    try {
      const r = ok(await gantry(app, ['deploy']), 'first deploy');
      first.push({ wall_ms: r.wallMs, engine_ms: r.json.duration_ms, breakdown: await deployBreakdown(app, r) });
      log(`  first deploy ${i + 1}/${firstRuns}: ${Math.round(r.wallMs)} ms (engine ${r.json.duration_ms} ms)`);
    } finally {
      await app.cleanup();
      stops.push(app.stopMs);
    }
  }

  // Redeploys of a changed app (rolling, 1 instance, watch 0).
  const app = makeApp({ name: 'deploy' });
  const redeploy = [];
  try {
    ok(await gantry(app, ['deploy']), 'initial deploy');
    for (let i = 0; i < redeploys; i++) {
      checkAborted();
      floor.push(await floorSample());
      boot.push(await cliBoot());
      bumpApp(app);
      const r = ok(await gantry(app, ['deploy']), `redeploy ${i + 1}`);
      redeploy.push({ wall_ms: r.wallMs, engine_ms: r.json.duration_ms, breakdown: await deployBreakdown(app, r) });
      log(`  redeploy ${i + 1}/${redeploys}: ${Math.round(r.wallMs)} ms (engine ${r.json.duration_ms} ms), floor ${Math.round(floor.at(-1))} ms`);
    }
  } finally {
    await app.cleanup();
    stops.push(app.stopMs);
  }

  const floorMedian = median(floor);
  return {
    floor: { samples_ms: floor, ...summarize(floor) },
    cli_boot_ms: summarize(boot),
    stop_wall_ms: summarize(stops.filter(Number.isFinite)),
    first_deploy: { wall_ms: summarize(first.map((d) => d.wall_ms)), engine_ms: summarize(first.map((d) => d.engine_ms)), phases_median_ms: medianPhases(first.map((d) => d.breakdown)), runs: first },
    redeploy: { wall_ms: summarize(redeploy.map((d) => d.wall_ms)), engine_ms: summarize(redeploy.map((d) => d.engine_ms)), phases_median_ms: medianPhases(redeploy.map((d) => d.breakdown)), runs: redeploy },
    ratio: ratio(median(redeploy.map((d) => d.wall_ms)), floorMedian),
    first_ratio: ratio(median(first.map((d) => d.wall_ms)), floorMedian),
  };
}
