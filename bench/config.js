// Config-only redeploy: `gantry env set GREETING=<n>` on a deployed app (a new
// release that reuses the current artifact: no build) ÷ the app's own
// start-to-healthy (the floor of deploy.js), a floor sample right before each.
import { floorSample } from './lib/app.js';
import { checkAborted } from './lib/cleanup.js';
import { deployBreakdown, gantry, makeApp, succeeded } from './lib/gantry.js';
import { medianPhases } from './deploy.js';
import { median, ratio, summarize } from './lib/timing.js';

export async function benchConfig({ quick, log }) {
  const runs = quick ? 3 : 6;
  const floor = [];
  const sets = [];
  const app = makeApp({ name: 'config' });
  try {
    succeeded(await gantry(app, ['deploy']), 'initial deploy');
    for (let i = 1; i <= runs; i++) {
      checkAborted();
      floor.push(await floorSample());
      const r = await gantry(app, ['env', 'set', `GREETING=config-${i}`]);
      const d = r.json?.deploy;
      if (!r.json?.kept || d?.status !== 'succeeded') throw new Error(`gantry env set ${i} failed (exit ${r.code}): ${(r.stdout || r.stderr).slice(0, 2000)}`);
      const b = await deployBreakdown(app, { ...r, json: d });
      // The reuse line is the target's, not tied to the deployment id: the app's recent events.
      const ev = await gantry(app, ['events', '-n', '200'], { timeoutMs: 30_000 });
      const reused = (Array.isArray(ev.json) ? ev.json : []).some((e) => Date.parse(e.at) >= r.startedAt && /artifact is reused/.test(e.message ?? ''));
      if (!reused) throw new Error(`gantry env set ${i}: the release did not reuse the artifact (it built)`);
      sets.push({ wall_ms: r.wallMs, engine_ms: d.duration_ms, release: d.release, breakdown: b });
      log(`  env set ${i}/${runs}: ${Math.round(r.wallMs)} ms (engine ${d.duration_ms} ms), floor ${Math.round(floor.at(-1))} ms`);
    }
  } finally {
    await app.cleanup();
  }
  return {
    floor: { samples_ms: floor, ...summarize(floor) },
    env_set: { wall_ms: summarize(sets.map((s) => s.wall_ms)), engine_ms: summarize(sets.map((s) => s.engine_ms)), phases_median_ms: medianPhases(sets.map((s) => s.breakdown)), runs: sets.map(({ breakdown, ...s }) => ({ ...s, phases_ms: breakdown?.phases })) },
    ratio: ratio(median(sets.map((s) => s.wall_ms)), median(floor)),
    engine_ratio: ratio(median(sets.map((s) => s.engine_ms)), median(floor)),
  };
}
