// 6. Scaling up: `gantry scale N+1` wall time ÷ one instance's start-to-healthy
// time (the floor of deploy.js: hello-node started by hand until its first
// healthy /health, polled every 10 ms), on the process target.
//
// One app (1 instance, rolling, watch 0); cycles of `scale 2` (1→2), `scale 3`
// (2→3), `scale 1` (3→1, back down, timed but not in the ratio). A floor sample
// is taken right before each scale-up, so a busy moment weighs on both sides.
import { floorSample } from './lib/app.js';
import { checkAborted } from './lib/cleanup.js';
import { gantry, makeApp, succeeded } from './lib/gantry.js';
import { median, ratio, summarize } from './lib/timing.js';

const round = (x) => Math.round(x * 10) / 10;

/** Seconds from the CLI's start to the engine's first event of this operation (boot, manifest, lock). */
async function firstEventDelay(app, r) {
  const ev = await gantry(app, ['events', r.json.id, '-n', '100'], { timeoutMs: 30_000 });
  const events = Array.isArray(ev.json) ? ev.json : [];
  if (!events.length) return undefined;
  return Math.min(...events.map((e) => Date.parse(e.at))) - r.startedAt;
}

export async function benchScale({ quick, log }) {
  const cycles = quick ? 1 : 4;
  const floor = [];
  const up = [];
  const down = [];
  const app = makeApp({ name: 'scale', instances: 1 });
  try {
    succeeded(await gantry(app, ['deploy']), 'initial deploy');
    let count = 1;
    for (let c = 0; c < cycles; c++) {
      for (const to of [2, 3, 1]) {
        checkAborted();
        const isUp = to > count;
        if (isUp) floor.push(await floorSample());
        const r = succeeded(await gantry(app, ['scale', String(to)]), `gantry scale ${to}`);
        if (r.json.from !== count || r.json.to !== to) throw new Error(`gantry scale ${to}: went ${r.json.from}→${r.json.to}, expected ${count}→${to}`);
        const run = { from: count, to, wall_ms: round(r.wallMs), engine_ms: r.json.duration_ms, cli_to_first_event_ms: await firstEventDelay(app, r) };
        (isUp ? up : down).push(run);
        log(`  scale ${count}→${to}: ${Math.round(r.wallMs)} ms (engine ${r.json.duration_ms} ms)${isUp ? `, floor ${Math.round(floor.at(-1))} ms` : ''}`);
        count = to;
      }
    }
  } finally {
    await app.cleanup();
  }
  const f = median(floor);
  return {
    floor: { samples_ms: floor.map(round), ...summarize(floor) },
    scale_up: {
      wall_ms: summarize(up.map((r) => r.wall_ms)),
      engine_ms: summarize(up.map((r) => r.engine_ms)),
      cli_to_first_event_ms: summarize(up.map((r) => r.cli_to_first_event_ms).filter(Number.isFinite)),
      by_transition: Object.fromEntries(
        [...new Set(up.map((r) => `${r.from}→${r.to}`))].map((k) => {
          const w = up.filter((r) => `${r.from}→${r.to}` === k).map((r) => r.wall_ms);
          return [k, { wall_ms_median: round(median(w)), ratio: ratio(median(w), f) }];
        }),
      ),
      runs: up,
    },
    scale_down: { wall_ms: summarize(down.map((r) => r.wall_ms)), engine_ms: summarize(down.map((r) => r.engine_ms)), runs: down },
    ratio: ratio(median(up.map((r) => r.wall_ms)), f),
    engine_ratio: ratio(median(up.map((r) => r.engine_ms)), f),
  };
}
