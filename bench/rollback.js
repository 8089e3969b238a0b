// 4. Rollback: `gantry rollback` wall time ÷ the floor (as in deploy.js, with
// floor samples interleaved with the rollbacks).
import { floorSample } from './lib/app.js';
import { checkAborted } from './lib/cleanup.js';
import { bumpApp, deployBreakdown, gantry, makeApp } from './lib/gantry.js';
import { medianPhases } from './deploy.js';
import { median, ratio, summarize } from './lib/timing.js';

export async function benchRollback({ quick, log }) {
  const runs = quick ? 2 : 5;
  const floor = [];
  const app = makeApp({ name: 'rollback' });
  const rollbacks = [];
  try {
    const r0 = await gantry(app, ['deploy']);
    if (r0.json?.status !== 'succeeded') throw new Error(`initial deploy failed: ${r0.stdout || r0.stderr}`);
    for (let i = 0; i < runs; i++) {
      checkAborted();
      // A new release, then back to the last known-good one (no rebuild).
      bumpApp(app);
      const d = await gantry(app, ['deploy']);
      if (d.json?.status !== 'succeeded') throw new Error(`deploy before rollback ${i + 1} failed: ${d.stdout || d.stderr}`);
      floor.push(await floorSample());
      const r = await gantry(app, ['rollback']);
      if (r.json?.status !== 'succeeded') throw new Error(`rollback ${i + 1} failed: ${r.stdout || r.stderr}`);
      rollbacks.push({ wall_ms: r.wallMs, engine_ms: r.json.duration_ms, from: d.json.release, to: r.json.release, breakdown: await deployBreakdown(app, r) });
      log(`  rollback ${i + 1}/${runs}: ${Math.round(r.wallMs)} ms (engine ${r.json.duration_ms} ms), floor ${Math.round(floor.at(-1))} ms`);
    }
  } finally {
    await app.cleanup();
  }
  return {
    floor: { samples_ms: floor, ...summarize(floor) },
    rollback: { wall_ms: summarize(rollbacks.map((r) => r.wall_ms)), engine_ms: summarize(rollbacks.map((r) => r.engine_ms)), phases_median_ms: medianPhases(rollbacks.map((r) => r.breakdown)), runs: rollbacks },
    ratio: ratio(median(rollbacks.map((r) => r.wall_ms)), median(floor)),
  };
}
