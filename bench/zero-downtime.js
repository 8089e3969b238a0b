// 2. Zero downtime: fixed-rate load on the access URL during consecutive deploys,
// per strategy (3 instances); baseline: one app process restarted by hand (stop,
// then start on the same port) under the same load. Peer: PM2 running the same
// app as a 3-worker cluster app, `pm2 reload` after each code change, same load.
import { freePort, startHandApp } from './lib/app.js';
import { bumpApp, gantry, makeApp } from './lib/gantry.js';
import { startLoad } from './lib/load.js';
import { checkAborted } from './lib/cleanup.js';
import { ensurePm2, startPm2App } from './lib/pm2.js';
import { median, ratio, sleep, summarize } from './lib/timing.js';

export const STRATEGIES = {
  recreate: { type: 'recreate' },
  rolling: { type: 'rolling' },
  'blue-green': { type: 'blue-green', keep_previous: 0 },
  canary: { type: 'canary', steps: [50, 100], pause: '500ms', analysis: { min_requests: 5 } },
};

/** Failures (by when their request was sent) from each deploy's start to the next one's. */
export function perDeploy(failures, windows) {
  return windows.map((w, i) => failures.filter((f) => f.at >= w.from && f.at < (windows[i + 1]?.from ?? Infinity)).length);
}

async function underLoad(strategyName, strategy, { deploys, rate, log }) {
  const app = makeApp({ name: `zd-${strategyName}`, instances: 3, strategy });
  try {
    const r0 = await gantry(app, ['deploy']);
    if (r0.json?.status !== 'succeeded') throw new Error(`initial ${strategyName} deploy failed: ${r0.stdout || r0.stderr}`);
    const load = startLoad({ url: r0.json.url, rate });
    const runs = [];
    let result;
    try {
      await sleep(500);
      for (let i = 0; i < deploys; i++) {
        checkAborted();
        bumpApp(app);
        const r = await gantry(app, ['deploy']);
        runs.push({ status: r.json?.status ?? `exit ${r.code}`, wall_ms: Math.round(r.wallMs), from: r.startedAt, to: r.endedAt, reason: r.json?.reason, error: r.json?.status === 'succeeded' ? undefined : (r.json?.error?.message ?? (r.stderr || r.stdout).slice(0, 1000)) });
        await sleep(300);
      }
    } finally {
      result = await load.stop();
    }
    const windows = perDeploy(result.failures, runs);
    const bad = runs.filter((r) => r.status !== 'succeeded');
    log(`  ${strategyName.padEnd(10)} ${result.failed} failed / ${result.sent} requests, ${deploys} deploys (median ${median(runs.map((r) => r.wall_ms))} ms)${bad.length ? `, ${bad.length} NOT succeeded` : ''}`);
    const { failures, ...summary } = result;
    return {
      ...summary,
      deploys: runs.length,
      deploys_succeeded: runs.length - bad.length,
      deploy_wall_ms_median: median(runs.map((r) => r.wall_ms)),
      failed_per_deploy: windows,
      first_failures: failures.slice(0, 20),
      runs: runs.map(({ from: _from, to: _to, ...r }) => r),
    };
  } finally {
    await app.cleanup();
  }
}

/** Baseline: one process on a fixed port, SIGTERM, wait for exit, start again; same load. */
async function naiveRestarts({ restarts, rate, log }) {
  const port = await freePort();
  let app = await startHandApp(port);
  const load = startLoad({ url: `http://127.0.0.1:${port}`, rate });
  const downMs = [];
  let result;
  try {
    await sleep(500);
    for (let i = 0; i < restarts; i++) {
      checkAborted();
      await sleep(700);
      const t = Date.now();
      await app.stop();
      app = await startHandApp(port);
      downMs.push(Date.now() - t);
    }
    await sleep(500);
  } finally {
    result = await load.stop();
    await app.stop();
  }
  log(`  naive      ${result.failed} failed / ${result.sent} requests, ${restarts} restarts`);
  const { failures, ...summary } = result;
  return { ...summary, restarts, down_ms: downMs, first_failures: failures.slice(0, 20) };
}

/** Peer: PM2 cluster app of 3 workers, `pm2 reload` after each code change, under the same load. */
async function pm2Reloads({ reloads, rate, log }) {
  let bin;
  try {
    bin = await ensurePm2(log);
  } catch (err) {
    log(`  pm2 peer skipped: ${err.message}`);
    return { skipped: err.message };
  }
  const port = await freePort();
  const app = await startPm2App({ bin, port, instances: 3 });
  const version = await app.version().catch(() => undefined);
  const load = startLoad({ url: `http://127.0.0.1:${port}`, rate });
  const runs = [];
  let result;
  try {
    await sleep(500);
    for (let i = 0; i < reloads; i++) {
      checkAborted();
      app.bump();
      const from = Date.now();
      const wall = await app.reload();
      runs.push({ wall_ms: Math.round(wall), from });
      await sleep(300);
    }
  } finally {
    result = await load.stop();
    await app.stop();
  }
  const { failures, ...summary } = result;
  const wall = runs.map((r) => r.wall_ms);
  log(`  pm2 ${version ?? ''} ${result.failed} failed / ${result.sent} requests, ${runs.length} reloads (median ${median(wall)} ms)`);
  return { version, instances: 3, mode: 'cluster', ...summary, reloads: runs.length, reload_wall_ms: summarize(wall), failed_per_reload: perDeploy(failures, runs), first_failures: failures.slice(0, 20) };
}

export async function benchZeroDowntime({ quick, log }) {
  const deploys = quick ? 3 : 10;
  const rate = 200;
  log(`baseline: naive stop-then-start of one process, ${deploys} restarts at ${rate} req/s`);
  const naive = await naiveRestarts({ restarts: deploys, rate, log });
  const strategies = {};
  for (const [name, s] of Object.entries(STRATEGIES)) {
    log(`${name}: ${deploys} deploys of 3 instances at ${rate} req/s`);
    try {
      strategies[name] = await underLoad(name, s, { deploys, rate, log });
    } catch (err) {
      log(`  ${name} failed: ${err.message}`);
      strategies[name] = { error: err.message };
    }
  }
  log(`peer: pm2 reload of a 3-worker cluster app, ${deploys} reloads at ${rate} req/s`);
  let pm2;
  try {
    pm2 = await pm2Reloads({ reloads: deploys, rate, log });
  } catch (err) {
    log(`  pm2 peer failed: ${err.message}`);
    pm2 = { error: err.message };
  }
  const rolling = strategies.rolling;
  if (pm2.reload_wall_ms && rolling && !rolling.error) {
    // Gantry's rolling deploy of 3 instances ÷ pm2 reload of 3 workers (wall, medians), same load.
    pm2.gantry_rolling_ratio = ratio(rolling.deploy_wall_ms_median, pm2.reload_wall_ms.median);
    log(`  gantry rolling ${rolling.deploy_wall_ms_median} ms / pm2 reload ${pm2.reload_wall_ms.median} ms = ${pm2.gantry_rolling_ratio}x; failed: gantry ${rolling.failed}, pm2 ${pm2.failed}`);
  }
  const all = Object.values(strategies).filter((s) => !s.error);
  return {
    rate,
    deploys_per_strategy: deploys,
    strategies,
    naive,
    pm2,
    total: { failed: all.reduce((a, s) => a + s.failed, 0), requests: all.reduce((a, s) => a + s.sent, 0), deploys: all.reduce((a, s) => a + s.deploys, 0), not_succeeded: all.reduce((a, s) => a + s.deploys - s.deploys_succeeded, 0), strategies_in_error: Object.keys(strategies).filter((k) => strategies[k].error) },
  };
}
