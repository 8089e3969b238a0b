// 5. Docker target: deploy time of an already-built image ÷ (container start +
// first healthy probe, measured directly), and failed requests during 10
// redeploys under load.
//
// A copy of hello-node on `targets: { box: { type: docker } }` (rolling, watch 0,
// 1 instance, run.port 3000) is deployed twice (v1, v2: two built images), then
// rolled back and forth: `gantry rollback` (to v1) and `gantry rollback <v2>`,
// each a deploy of an image that is already built (no build step). Baseline,
// interleaved with those: a container created and started directly (dockerode)
// from the same image, timed to its first healthy /health (polled every 10 ms).
// Then 2 instances and 10 consecutive deploys of changing releases (an env value)
// under a fixed-rate load on the access URL: failed requests, goal 0.
// Peer: Docker Swarm's rolling update (start-first, one task at a time) of a 2-task
// service of the same image, as many updates (an env value), under the same load
// when Swarm's routing mesh answers here (it needs the kernel's IPVS).
//
// Everything labelled dev.gantry.app=<app> (containers, images, volumes) is
// removed in a finally, after `gantry stop`; without a usable engine the section
// prints "docker section skipped: <reason>" and returns.
import { freePort } from './lib/app.js';
import { checkAborted, onCleanup } from './lib/cleanup.js';
import { containerSample, dockerClient, dockerProblem, removeAppResources } from './lib/docker.js';
import { deployBreakdown, editManifest, gantry, makeApp, succeeded } from './lib/gantry.js';
import { startLoad } from './lib/load.js';
import { medianPhases } from './deploy.js';
import { perDeploy } from './zero-downtime.js';
import { createService, ensureSwarm, meshProblem, updateService } from './lib/swarm.js';
import { median, ratio, sleep, summarize } from './lib/timing.js';

const round = (x) => Math.round(x * 10) / 10;

export async function benchDocker({ quick, log }) {
  const samples = quick ? 2 : 6; // rollbacks (alternating v1 / v2), each with a baseline container before it
  const redeploys = quick ? 3 : 10;
  const rate = 200;
  const docker = dockerClient();
  const problem = await dockerProblem(docker);
  if (problem) {
    const msg = `docker section skipped: ${problem}`;
    log(msg);
    console.log(msg);
    return { skipped: problem };
  }

  const appName = `bench-docker-${process.pid}`;
  // Registered before the app, so on an abort it runs after the app's `gantry stop` (cleanups run newest first).
  const removeResources = onCleanup(`docker resources of ${appName}`, async () => {
    const n = await removeAppResources(docker, appName);
    log(`  removed ${n.containers} container(s), ${n.images} image(s), ${n.volumes} volume(s) labelled dev.gantry.app=${appName}`);
  });
  let app;
  try {
    app = makeApp({
      name: 'docker',
      instances: 1,
      strategy: { type: 'rolling', watch: '0s' },
      edit: (doc) => {
        doc.app = appName;
        doc.run = { ...doc.run, instances: 1, port: 3000 };
        doc.env = { ...doc.env, GREETING: 'v1' };
        doc.targets = { box: { type: 'docker' } };
      },
    });

    // v1 and v2: two built images.
    const v1 = succeeded(await gantry(app, ['deploy'], { timeoutMs: 300_000 }), 'docker deploy v1');
    log(`  deploy v1 (build + agent start): ${Math.round(v1.wallMs)} ms`);
    editManifest(app, (doc) => (doc.env.GREETING = 'v2'));
    const v2 = succeeded(await gantry(app, ['deploy'], { timeoutMs: 300_000 }), 'docker deploy v2');
    log(`  deploy v2 (build): ${Math.round(v2.wallMs)} ms`);
    const releases = { v1: v1.json.release, v2: v2.json.release };
    const builtDeploy = { wall_ms: v2.wallMs, engine_ms: v2.json.duration_ms, breakdown: await deployBreakdown(app, v2) };

    // Rollbacks to an already-built image, each after a baseline sample from the same image.
    const base = [];
    const rollbacks = [];
    let current = 'v2';
    for (let i = 0; i < samples; i++) {
      checkAborted();
      const to = current === 'v2' ? 'v1' : 'v2';
      const image = `gantry/${appName}:${releases[to]}`;
      const b = await containerSample(docker, { image, app: appName, hostPort: await freePort() });
      base.push({ ...roundAll(b), image_release: to });
      const args = to === 'v1' ? ['rollback'] : ['rollback', releases.v2];
      const r = succeeded(await gantry(app, args), `gantry ${args.join(' ')}`);
      if (r.json.release !== releases[to]) throw new Error(`gantry ${args.join(' ')} went to ${r.json.release}, expected ${releases[to]} (${to})`);
      current = to;
      const breakdown = await deployBreakdown(app, r);
      rollbacks.push({ to, args: args.join(' '), wall_ms: r.wallMs, engine_ms: r.json.duration_ms, built: Object.keys(breakdown?.phases ?? {}).includes('build'), breakdown });
      log(`  ${args[0]}${args[1] ? ' <v2>' : ''} → ${to}: ${Math.round(r.wallMs)} ms (engine ${r.json.duration_ms} ms); baseline container ${Math.round(b.ready_ms)} ms (create ${Math.round(b.create_ms)}, start ${Math.round(b.start_ms)}, to healthy ${Math.round(b.health_wait_ms)})`);
    }
    if (rollbacks.some((r) => r.built)) log('  warning: a rollback ran a build step');

    // Zero downtime: 2 instances, 10 deploys of changing releases (GREETING) under load.
    checkAborted();
    editManifest(app, (doc) => {
      doc.run.instances = 2;
      doc.env.GREETING = 'zd-0';
    });
    const d0 = succeeded(await gantry(app, ['deploy'], { timeoutMs: 300_000 }), 'docker deploy of 2 instances');
    log(`  deploy of 2 instances: ${Math.round(d0.wallMs)} ms; now ${redeploys} redeploys at ${rate} req/s on ${d0.json.url}`);
    const load = startLoad({ url: d0.json.url, rate });
    const runs = [];
    let result;
    try {
      await sleep(500);
      for (let i = 1; i <= redeploys; i++) {
        checkAborted();
        editManifest(app, (doc) => (doc.env.GREETING = `zd-${i}`));
        const r = await gantry(app, ['deploy'], { timeoutMs: 300_000 });
        runs.push({ status: r.json?.status ?? `exit ${r.code}`, release: r.json?.release, wall_ms: Math.round(r.wallMs), engine_ms: r.json?.duration_ms, from: r.startedAt, to: r.endedAt, reason: r.json?.reason, error: r.json?.status === 'succeeded' ? undefined : (r.json?.error?.message ?? (r.stderr || r.stdout).slice(0, 1000)) });
        await sleep(300);
      }
    } finally {
      result = await load.stop();
    }
    const bad = runs.filter((r) => r.status !== 'succeeded');
    log(`  ${result.failed} failed / ${result.sent} requests across ${runs.length} redeploys (median ${median(runs.map((r) => r.wall_ms))} ms)${bad.length ? `, ${bad.length} NOT succeeded` : ''}`);
    const { failures, ...loadSummary } = result;

    let swarm;
    try {
      swarm = await swarmUpdates(docker, { image: `gantry/${appName}:${runs.at(-1)?.release ?? releases.v2}`, app: appName, replicas: 2, updates: redeploys, rate, log });
    } catch (err) {
      log(`  swarm peer failed: ${err.message}`);
      swarm = { error: err.message };
    }
    if (swarm.update_wall_ms) {
      swarm.gantry_ratio = ratio(median(runs.map((r) => r.wall_ms)), swarm.update_wall_ms.median);
      log(`  gantry redeploy ${median(runs.map((r) => r.wall_ms))} ms / swarm update ${swarm.update_wall_ms.median} ms = ${swarm.gantry_ratio}x; failed: gantry ${result.failed}, swarm ${swarm.load ? swarm.load.failed : 'not measured'}`);
    }

    const g = rollbacks.map((r) => r.wall_ms);
    const bl = base.map((b) => b.ready_ms);
    return {
      app: appName,
      releases,
      deploy_v1_wall_ms: round(v1.wallMs),
      deploy_with_build: { wall_ms: round(builtDeploy.wall_ms), engine_ms: builtDeploy.engine_ms, phases_ms: builtDeploy.breakdown?.phases },
      baseline: { ready_ms: summarize(bl), create_ms: summarize(base.map((b) => b.create_ms)), start_ms: summarize(base.map((b) => b.start_ms)), health_wait_ms: summarize(base.map((b) => b.health_wait_ms)), remove_ms: summarize(base.map((b) => b.remove_ms)), samples: base },
      rollback: {
        wall_ms: summarize(g),
        engine_ms: summarize(rollbacks.map((r) => r.engine_ms)),
        phases_median_ms: medianPhases(rollbacks.map((r) => r.breakdown)),
        any_build_step: rollbacks.some((r) => r.built),
        runs: rollbacks.map(({ breakdown, ...r }) => ({ ...r, wall_ms: round(r.wall_ms), phases_ms: breakdown?.phases, health_wait_ms: breakdown?.health_wait_ms })),
      },
      ratio: ratio(median(g), median(bl)),
      engine_ratio: ratio(median(rollbacks.map((r) => r.engine_ms)), median(bl)),
      zero_downtime: {
        instances: 2,
        strategy: 'rolling',
        ...loadSummary,
        deploys: runs.length,
        deploys_succeeded: runs.length - bad.length,
        deploy_wall_ms: summarize(runs.map((r) => r.wall_ms)),
        failed_per_deploy: perDeploy(failures, runs),
        first_failures: failures.slice(0, 20),
        runs: runs.map(({ from: _from, to: _to, ...r }) => r),
      },
      swarm,
    };
  } finally {
    if (app) await app.cleanup();
    await removeResources();
  }
}

/**
 * Peer: a Swarm service of the same image (2 tasks), `updates` rolling updates
 * (start-first, an env value each), timed; under the same open-loop load when the
 * routing mesh answers, else with the reason it does not.
 */
async function swarmUpdates(docker, { image, app, replicas, updates, rate, log }) {
  let swarm;
  try {
    swarm = await ensureSwarm(docker, log);
  } catch (err) {
    log(`  swarm peer skipped: ${err.message}`);
    return { skipped: err.message };
  }
  const name = `gantry-bench-swarm-${process.pid}`;
  const port = await freePort();
  log(`  swarm: service ${name}, ${replicas} tasks of ${image}, ${updates} start-first updates`);
  const svc = await createService(docker, { name, image, app, port, replicas });
  try {
    const problem = await meshProblem(port);
    if (problem) log(`  swarm: ${problem}`);
    const load = problem ? undefined : startLoad({ url: `http://127.0.0.1:${port}`, rate });
    const runs = [];
    let result;
    try {
      await sleep(500);
      for (let i = 1; i <= updates; i++) {
        runs.push(await updateService(docker, name, `swarm-${i}`));
        await sleep(300);
      }
    } finally {
      result = await load?.stop();
    }
    const wall = runs.map((r) => Math.round(r.wall_ms));
    log(`  swarm: ${updates} updates, median ${median(wall)} ms${result ? `; ${result.failed} failed / ${result.sent} requests` : ''}`);
    const { failures, ...loadSummary } = result ?? {};
    return {
      swarm_initialised_by_bench: swarm.initialised,
      replicas,
      updates: runs.length,
      update_wall_ms: summarize(wall),
      load: result ? { ...loadSummary, failed_per_update: perDeploy(failures, runs), first_failures: failures.slice(0, 20) } : undefined,
      load_not_measured: problem,
    };
  } finally {
    await svc.remove();
  }
}

function roundAll(o) {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v]));
}
