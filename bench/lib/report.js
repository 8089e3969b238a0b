// The printed table, the final summary block and the JSON document.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './gantry.js';

function cpuTimes() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), idle: f[3] + f[4] };
  } catch {
    return undefined;
  }
}

/** Share of all CPUs busy over the next ms (from /proc/stat), in %; null where unknown. */
export async function cpuBusyPercent(ms = 2000) {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuTimes();
  if (!a || !b || b.total === a.total) return null;
  return Math.round(100 - (100 * (b.idle - a.idle)) / (b.total - a.total));
}

export function machine() {
  const cpus = os.cpus();
  let commit;
  try {
    commit = execFileSync('git', ['-C', ROOT, 'describe', '--always', '--dirty'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = undefined;
  }
  return {
    cpu_model: cpus[0]?.model,
    cpu_count: cpus.length,
    total_memory_bytes: os.totalmem(),
    total_memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: os.platform(),
    kernel: os.release(),
    loadavg_at_start: os.loadavg(),
    gantry_commit: commit,
  };
}

const s = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a');
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : 'n/a');
const x = (r) => (Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a');
const n = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US').replace(/,/g, '') : 'n/a');

/** Rows [measurement, value, baseline, ratio] for every section that ran. */
export function tableRows(r) {
  const rows = [];
  const st = r.startup;
  if (st && !st.error) {
    rows.push(['startup: gantry --version (median)', ms(st.version_ms.median), `node -e 0 ${ms(st.node_e0_ms.median)}`, x(st.version_ratio)]);
    rows.push(['startup: CLI start to the plan (redeploy)', ms(st.cli_to_plan_ms.median), `node -e 0 ${ms(st.node_e0_ms.median)}; goal ≤ 60 ms`, x(st.cli_to_plan_ratio)]);
    for (const [phase, v] of Object.entries(st.cli_to_plan_split_ms ?? {})) rows.push([`  to-plan phase ${phase}`, ms(v), '', '']);
    rows.push(['startup: agent spawn to ready', ms(st.agent_ready_ms.median), `node -e 0 ${ms(st.node_e0_ms.median)}; goal ≤ 100 ms`, x(st.agent_ready_ratio)]);
  }
  const d = r.deploy;
  if (d && !d.error) {
    rows.push(['deploy: redeploy (median wall)', s(d.redeploy.wall_ms.median), `floor ${s(d.floor.median)}`, x(d.ratio)]);
    rows.push(['deploy: first deploy (median wall)', s(d.first_deploy.wall_ms.median), `floor ${s(d.floor.median)}`, x(d.first_ratio)]);
    rows.push(['deploy: engine duration_ms (median)', s(d.redeploy.engine_ms.median), `floor ${s(d.floor.median)}`, x(d.redeploy.engine_ms.median / d.floor.median)]);
    rows.push(['deploy: bare CLI boot (gantry --version)', s(d.cli_boot_ms.median), '', '']);
    rows.push(['deploy: `gantry stop` of 1 instance (median wall)', s(d.stop_wall_ms.median), `floor ${s(d.floor.median)}`, '']);
    rows.push(['deploy: CLI start to plan, minus bare boot', s(d.redeploy.phases_median_ms.cli_to_plan - d.cli_boot_ms.median), '', '']);
    for (const [k, v] of Object.entries(d.redeploy.phases_median_ms)) rows.push([`  redeploy phase ${k}`, ms(v), '', '']);
    for (const [k, v] of Object.entries(d.first_deploy.phases_median_ms)) rows.push([`  first-deploy phase ${k}`, ms(v), '', '']);
  }
  const z = r['zero-downtime'];
  if (z && !z.error) {
    for (const [name, st] of Object.entries(z.strategies)) {
      if (st.error) {
        rows.push([`zero downtime: ${name}`, `ERROR: ${st.error}`, '', '']);
        continue;
      }
      rows.push([`zero downtime: ${name}`, `${st.failed} failed / ${st.sent}; p99 ${ms(st.latency_ms.p99)}, max ${ms(st.latency_ms.max)}`, `naive ${z.naive.failed} failed / ${z.naive.sent}`, `${st.deploys_succeeded}/${st.deploys} ok, ${s(st.deploy_wall_ms_median)}/deploy`]);
    }
    const pm = z.pm2;
    if (pm?.reload_wall_ms) {
      const roll = z.strategies.rolling;
      rows.push([`zero downtime peer: pm2 reload (${pm.instances}-worker cluster)`, `${pm.failed} failed / ${pm.sent}; ${s(pm.reload_wall_ms.median)}/reload; p99 ${ms(pm.latency_ms.p99)}`, roll && !roll.error ? `gantry rolling ${roll.failed} failed, ${s(roll.deploy_wall_ms_median)}/deploy` : '', roll && !roll.error ? `${x(pm.gantry_rolling_ratio)} (gantry ÷ pm2 time)` : '']);
    } else if (pm) rows.push(['zero downtime peer: pm2', `not measured: ${pm.skipped ?? pm.error}`, '', '']);
  }
  const p = r.proxy;
  if (p && !p.error) {
    for (const [peer, v] of Object.entries(p.load)) if (peer !== 'direct') rows.push([`proxy c=${p.connections} ${peer} req/s`, n(v.rps), `direct ${n(p.load.direct.rps)}`, x(v.rps / p.load.direct.rps)]);
    for (const [peer, v] of Object.entries(p.load)) if (peer !== 'direct') rows.push([`proxy c=${p.connections} ${peer} p50 / p99`, `${ms(v.p50_ms)} / ${ms(v.p99_ms)}`, `direct ${ms(p.load.direct.p50_ms)} / ${ms(p.load.direct.p99_ms)}`, '']);
    for (const [peer, v] of Object.entries(p.latency)) if (peer !== 'direct') rows.push([`proxy c=1 ${peer} req/s (autocannon)`, n(v.rps), `direct ${n(p.latency.direct.rps)}`, x(v.rps / p.latency.direct.rps)]);
    const us = (v) => (Number.isFinite(v) ? `${v.toFixed(3)} ms` : 'n/a');
    for (const [peer, v] of Object.entries(p.sequential)) if (peer !== 'direct') rows.push([`proxy c=1 ${peer} p50 / p99 (undici)`, `${us(v.p50_ms)} / ${us(v.p99_ms)}`, `direct ${us(p.sequential.direct.p50_ms)} / ${us(p.sequential.direct.p99_ms)}`, '']);
    for (const [peer, v] of Object.entries(p.cpu_us_per_request ?? {})) rows.push([`proxy CPU per request ${peer} (c=${p.connections})`, `${v} µs`, '', '']);
    for (const [peer, v] of Object.entries(p.slow ?? {})) if (peer !== 'direct') rows.push([`proxy 5 ms app c=${p.connections} ${peer} req/s, p99`, `${n(v.rps)}, ${ms(v.p99_ms)}`, `direct ${n(p.slow.direct.rps)}, ${ms(p.slow.direct.p99_ms)}`, x(v.rps / p.slow.direct.rps)]);
    for (const [peer, v] of Object.entries(p.gantry_vs ?? {})) rows.push([`proxy gantry ÷ ${peer} (c=${p.connections} / c=1)`, `${x(v.c32)} / ${x(v.c1)}`, peer, '']);
    for (const peer of ['nginx', 'haproxy']) if (!p.load[peer] && p.peers_note?.[peer]) rows.push([`proxy peer ${peer}`, p.peers_note[peer], '', '']);
  }
  const rb = r.rollback;
  if (rb && !rb.error) {
    rows.push(['rollback (median wall)', s(rb.rollback.wall_ms.median), `floor ${s(rb.floor.median)}`, x(rb.ratio)]);
    for (const [k, v] of Object.entries(rb.rollback.phases_median_ms)) rows.push([`  rollback phase ${k}`, ms(v), '', '']);
  }
  const dk = r.docker;
  if (dk?.skipped) rows.push(['docker', `docker section skipped: ${dk.skipped}`, '', '']);
  else if (dk && !dk.error) {
    const b = dk.baseline;
    rows.push(['docker: rollback to a built image (median wall)', s(dk.rollback.wall_ms.median), `container start+healthy ${s(b.ready_ms.median)}`, x(dk.ratio)]);
    rows.push(['docker: rollback engine duration_ms (median)', s(dk.rollback.engine_ms.median), `container start+healthy ${s(b.ready_ms.median)}`, x(dk.engine_ratio)]);
    rows.push(['docker: baseline create / start / to healthy (median)', `${ms(b.create_ms.median)} / ${ms(b.start_ms.median)} / ${ms(b.health_wait_ms.median)}`, '', '']);
    rows.push(['docker: deploy with a build (v2, wall)', s(dk.deploy_with_build.wall_ms), `container start+healthy ${s(b.ready_ms.median)}`, x(dk.deploy_with_build.wall_ms / b.ready_ms.median)]);
    for (const [k, v] of Object.entries(dk.rollback.phases_median_ms)) rows.push([`  docker rollback phase ${k}`, ms(v), '', '']);
    const z = dk.zero_downtime;
    rows.push([`docker: zero downtime, ${z.deploys} redeploys of ${z.instances} (${z.strategy})`, `${z.failed} failed / ${z.sent}; p99 ${ms(z.latency_ms.p99)}, max ${ms(z.latency_ms.max)}`, '', `${z.deploys_succeeded}/${z.deploys} ok, ${s(z.deploy_wall_ms.median)}/deploy`]);
    const sw = dk.swarm;
    if (sw?.update_wall_ms) {
      rows.push([`docker peer: swarm start-first update (${sw.replicas} tasks)`, `${s(sw.update_wall_ms.median)}/update; ${sw.load ? `${sw.load.failed} failed / ${sw.load.sent}` : 'failed requests not measured'}`, `gantry ${s(z.deploy_wall_ms.median)}/redeploy, ${z.failed} failed`, `${x(sw.gantry_ratio)} (gantry ÷ swarm time)`]);
      if (sw.load_not_measured) rows.push(['  swarm load', sw.load_not_measured, '', '']);
    } else if (sw) rows.push(['docker peer: swarm', `not measured: ${sw.skipped ?? sw.error}`, '', '']);
  }
  const sc = r.scale;
  if (sc && !sc.error) {
    rows.push(['scale N→N+1 (median wall)', s(sc.scale_up.wall_ms.median), `floor ${s(sc.floor.median)}`, x(sc.ratio)]);
    for (const [k, v] of Object.entries(sc.scale_up.by_transition)) rows.push([`  scale ${k} (median wall)`, s(v.wall_ms_median), `floor ${s(sc.floor.median)}`, x(v.ratio)]);
    rows.push(['scale N→N+1 engine duration_ms (median)', s(sc.scale_up.engine_ms.median), `floor ${s(sc.floor.median)}`, x(sc.engine_ratio)]);
    rows.push(['scale N→N+1 CLI start to first event (median)', s(sc.scale_up.cli_to_first_event_ms.median), '', '']);
    rows.push(['scale 3→1 (median wall, drain included)', s(sc.scale_down.wall_ms.median), '', '']);
  }
  const cf = r.config;
  if (cf && !cf.error) {
    rows.push(['config-only redeploy: gantry env set (median wall)', s(cf.env_set.wall_ms.median), `floor ${s(cf.floor.median)}`, x(cf.ratio)]);
    rows.push(['config-only redeploy: engine duration_ms (median)', s(cf.env_set.engine_ms.median), `floor ${s(cf.floor.median)}`, x(cf.engine_ratio)]);
    for (const [k, v] of Object.entries(cf.env_set.phases_median_ms)) rows.push([`  env-set phase ${k}`, ms(v), '', '']);
  }
  const bk = r.backup;
  if (bk && !bk.error) {
    const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
    rows.push(['backup: data set', `${bk.data_set.mb} MB in ${bk.data_set.files} files (${mb(bk.data_set.text_bytes)} JSON lines, ${mb(bk.data_set.random_bytes)} random)`, '', '']);
    rows.push(['backup: gantry backup', `${bk.backup.mb_s} MB/s (${s(bk.backup.wall_ms.median)}, archive ${mb(bk.backup.archive_bytes)})`, `tar czf ${bk.tar_czf.mb_s} MB/s (${s(bk.tar_czf.wall_ms.median)}, archive ${mb(bk.tar_czf.archive_bytes)})`, x(bk.backup_ratio)]);
    rows.push(['backup: gantry restore (incl. start)', `${bk.restore.mb_s} MB/s (${s(bk.restore.wall_ms.median)})`, `tar xzf ${bk.tar_xzf.mb_s} MB/s (${s(bk.tar_xzf.wall_ms.median)})`, x(bk.restore_ratio)]);
    rows.push(['  restore minus a plain `gantry start`', `${bk.restore_minus_start_mb_s} MB/s (start ${s(bk.start_wall_ms.median)})`, `tar xzf ${bk.tar_xzf.mb_s} MB/s`, x(bk.restore_minus_start_mb_s / bk.tar_xzf.mb_s)]);
  }
  const sv = r.server;
  if (sv && !sv.error) {
    rows.push(['server: GET /api/v1/deployments/{id}', `${n(sv.get_deployment.rps)} req/s, p99 ${sv.get_deployment.p99_ms} ms${sv.get_deployment.pinned_to_one_core ? ' (one core)' : ''}`, 'goal ≥ 5000 req/s, p99 < 20 ms', '']);
    rows.push(['server: deploy through the API (median wall)', s(sv.api_deploy.wall_ms.median), `the engine's own deploy ${s(sv.api_deploy.engine_wall_ms?.median ?? sv.api_deploy.engine_ms.median)}`, x(sv.api_deploy_ratio)]);
    rows.push([`server: RSS with ${sv.apps_registered} apps`, `${n(sv.rss_mb)} MB`, 'goal < 200 MB', '']);
  }
  const sf = r['ssh-fleet'];
  if (sf?.skipped) rows.push(['ssh fleet', `ssh-fleet section skipped: ${sf.skipped}`, '', '']);
  else if (sf && !sf.error) {
    for (const z of sf.sizes.filter((v) => v.error)) rows.push([`ssh fleet ${z.hosts} host(s)`, `ERROR: ${z.error.split('\n')[0].slice(0, 300)}`, '', '']);
    const done = sf.sizes.filter((v) => !v.error);
    for (const z of done) rows.push([`ssh fleet ${z.hosts} host(s): redeploy (median wall)`, s(z.gantry.redeploy_wall_ms.median), `ansible ${s(z.ansible.redeploy_wall_ms.median)}`, x(z.redeploy_ratio)]);
    for (const z of done) rows.push([`ssh fleet ${z.hosts} host(s): first deploy (wall)`, s(z.gantry.first_wall_ms), `ansible ${s(z.ansible.first_wall_ms)}`, x(z.first_ratio)]);
    const sc = sf.scaling;
    rows.push([`ssh fleet T(${sc.to})/T(${sc.from}) redeploy`, x(sc.gantry_redeploy), `ansible ${x(sc.ansible_redeploy)}; hosts' CPU floor ${x(sc.gantry_redeploy_floor)}`, '']);
    rows.push([`ssh fleet T(${sc.to})/T(${sc.from}) first deploy`, x(sc.gantry_first), `ansible ${x(sc.ansible_first)}`, '']);
    const big = done.at(-1) ?? { gantry: {}, ansible: {} };
    for (const [k, v] of Object.entries(big.gantry.redeploy_phases_median_ms ?? {})) rows.push([`  ${big.hosts}-host redeploy phase ${k}`, ms(v), '', '']);
    for (const [k, v] of Object.entries(big.ansible.redeploy_tasks_median_ms ?? {})) rows.push([`  ${big.hosts}-host ansible task ${k}`, ms(v), '', '']);
  }
  for (const [name, sec] of Object.entries(r)) if (sec?.error) rows.push([`${name}`, `ERROR: ${sec.error}`, '', '']);
  return rows;
}

export function formatTable(rows) {
  const head = ['measurement', 'value', 'baseline (same run)', 'ratio'];
  const all = [head, ...rows];
  const w = head.map((_, i) => Math.max(...all.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => String(c ?? '').padEnd(w[i])).join('  ').trimEnd();
  return [line(head), w.map((k) => '-'.repeat(k)).join('  '), ...rows.map(line)].join('\n');
}

/** The headline ratios, one line per section ("not run" for the others). */
export function summaryLines(r) {
  const out = [];
  const st = r.startup;
  if (st && !st.error) out.push(`startup              gantry --version ${x(st.version_ratio)} node -e 0 (${ms(st.version_ms.median)} vs ${ms(st.node_e0_ms.median)}; goal ≤ 1.5x); CLI start to plan ${ms(st.cli_to_plan_ms.median)} (goal ≤ 60 ms); agent ready ${ms(st.agent_ready_ms.median)} (goal ≤ 100 ms)`);
  else if (st?.error) out.push(`startup              error: ${st.error}`);
  const d = r.deploy;
  out.push(d && !d.error ? `deploy overhead      ${x(d.ratio)} floor (deploy ${s(d.redeploy.wall_ms.median)} vs floor ${s(d.floor.median)}; first deploy ${s(d.first_deploy.wall_ms.median)} = ${x(d.first_ratio)})` : `deploy overhead      ${d?.error ? `error: ${d.error}` : 'not run'}`);
  const z = r['zero-downtime'];
  if (z && !z.error) {
    const per = Object.entries(z.strategies).map(([k, v]) => `${k} ${v.error ? 'ERROR' : v.failed}`).join(', ');
    const pm = z.pm2;
    const pmText = pm?.reload_wall_ms ? `pm2 reload: ${pm.failed} failed / ${pm.sent}, gantry rolling ÷ pm2 reload time ${x(pm.gantry_rolling_ratio)}` : `pm2: ${pm ? `not measured (${pm.skipped ?? pm.error})` : 'not run'}`;
    out.push(`zero downtime        ${z.total.failed} failed / ${z.total.requests} requests across ${z.total.deploys} deploys${z.total.not_succeeded ? ` (${z.total.not_succeeded} deploys NOT succeeded)` : ''}${z.total.strategies_in_error.length ? ` (in error: ${z.total.strategies_in_error.join(', ')})` : ''} [${per}] (naive restart: ${z.naive.failed} failed / ${z.naive.sent}; ${pmText})`);
  } else out.push(`zero downtime        ${z?.error ? `error: ${z.error}` : 'not run'}`);
  const p = r.proxy;
  if (p && !p.error) {
    const sign = (v) => `${v >= 0 ? '+' : ''}${v}`;
    const peers = Object.entries(p.peer_throughput_ratio).filter(([k]) => k !== 'gantry').map(([k, v]) => `${k} ${x(v)}`).join(', ');
    const missing = ['nginx', 'haproxy'].filter((k) => !p.load[k] && p.peers_note?.[k]).map((k) => `; ${p.peers_note[k]}`).join('');
    const vs = Object.entries(p.gantry_vs ?? {}).map(([k, v]) => `${k} ${x(v.c32)} at c=${p.connections}, ${x(v.c1)} at c=1`).join('; ');
    out.push(`proxy throughput     ${x(p.throughput_ratio)} direct (${n(p.load.gantry.rps)} vs ${n(p.load.direct.rps)} req/s); p99 ${sign(p.p99_delta_ms)} ms; c=1 p50 ${sign(p.c1_p50_delta_ms)} ms (peers: ${peers}${missing})`);
    if (vs) out.push(`proxy vs peers       gantry ÷ ${vs}`);
    if (p.slow?.gantry) out.push(`proxy, 5 ms app      ${x(p.slow_ratio)} direct; p99 ${sign(p.slow_p99_delta_ms)} ms`);
    if (p.cpu_us_per_request) out.push(`proxy CPU/request    ${Object.entries(p.cpu_us_per_request).map(([k, v]) => `${k} ${v} µs`).join(', ')}`);
  } else out.push(`proxy throughput     ${p?.error ? `error: ${p.error}` : 'not run'}`);
  const rb = r.rollback;
  out.push(rb && !rb.error ? `rollback             ${x(rb.ratio)} floor (rollback ${s(rb.rollback.wall_ms.median)} vs floor ${s(rb.floor.median)})` : `rollback             ${rb?.error ? `error: ${rb.error}` : 'not run'}`);
  const dk = r.docker;
  if (dk?.skipped) out.push(`docker deploy        docker section skipped: ${dk.skipped}`);
  else if (dk && !dk.error) {
    const z = dk.zero_downtime;
    const sw = dk.swarm;
    const swText = sw?.update_wall_ms ? `swarm start-first update: gantry ÷ swarm time ${x(sw.gantry_ratio)}, ${sw.load ? `${sw.load.failed} failed / ${sw.load.sent}` : 'failed requests not measured (routing mesh down)'}` : `swarm: ${sw ? `not measured (${sw.skipped ?? sw.error})` : 'not run'}`;
    out.push(`docker deploy        ${x(dk.ratio)} floor (rollback to a built image ${s(dk.rollback.wall_ms.median)} vs container start+healthy ${s(dk.baseline.ready_ms.median)}); ${z.failed} failed / ${z.sent} requests across ${z.deploys} redeploys${z.deploys_succeeded < z.deploys ? ` (${z.deploys - z.deploys_succeeded} NOT succeeded)` : ''}; ${swText}`);
  } else out.push(`docker deploy        ${dk?.error ? `error: ${dk.error}` : 'not run'}`);
  const sc = r.scale;
  out.push(sc && !sc.error ? `scale N→N+1          ${x(sc.ratio)} one instance start-to-healthy (${s(sc.scale_up.wall_ms.median)} vs ${s(sc.floor.median)})` : `scale N→N+1          ${sc?.error ? `error: ${sc.error}` : 'not run'}`);
  const cf = r.config;
  if (cf && !cf.error) out.push(`config-only redeploy ${x(cf.ratio)} the app's start-to-healthy (gantry env set ${s(cf.env_set.wall_ms.median)} vs ${s(cf.floor.median)}; engine ${x(cf.engine_ratio)}; goal ≤ 1.5x)`);
  else if (cf?.error) out.push(`config-only redeploy error: ${cf.error}`);
  const bk = r.backup;
  out.push(bk && !bk.error ? `backup               gantry ${n(bk.backup.mb_s)} MB/s vs tar czf ${n(bk.tar_czf.mb_s)} MB/s (${x(bk.backup_ratio)}); restore ${n(bk.restore.mb_s)} MB/s vs tar xzf ${n(bk.tar_xzf.mb_s)} MB/s (${x(bk.restore_ratio)}) [${n(bk.data_set.mb)} MB in ${bk.data_set.files} files; archives ${n(bk.backup.archive_bytes / 1e6)} MB vs ${n(bk.tar_czf.archive_bytes / 1e6)} MB]` : `backup               ${bk?.error ? `error: ${bk.error}` : 'not run'}`);
  const sv = r.server;
  out.push(sv && !sv.error ? `server API           GET /deployments/{id} ${n(sv.get_deployment.rps)} req/s, p99 ${sv.get_deployment.p99_ms} ms${sv.get_deployment.pinned_to_one_core ? ' (one core)' : ''}; API deploy ${x(sv.api_deploy_ratio)} the engine's own deploy (${x(sv.api_deploy_ratio_vs_recorded)} its recorded duration); RSS ${n(sv.rss_mb)} MB with ${sv.apps_registered} apps` : `server API           ${sv?.error ? `error: ${sv.error}` : 'not run'}`);
  const sf = r['ssh-fleet'];
  if (sf?.skipped) out.push(`ssh fleet            ssh-fleet section skipped: ${sf.skipped}`);
  else if (sf && !sf.error) {
    const per = sf.sizes.map((z) => (z.error ? `${z.hosts}: ERROR` : `${z.hosts}: ${s(z.gantry.redeploy_wall_ms.median)} vs ${s(z.ansible.redeploy_wall_ms.median)} = ${x(z.redeploy_ratio)}`)).join('; ');
    const firsts = sf.sizes.map((z) => `${z.hosts}: ${z.error ? 'ERROR' : x(z.first_ratio)}`).join(', ');
    out.push(`ssh fleet            gantry ÷ ansible, redeploy [${per}] (goal ≤ 0.33x at ${sf.scaling.to}: ${sf.goals.ratio_met ? 'met' : 'MISSED'}); T(${sf.scaling.to})/T(${sf.scaling.from}) gantry ${x(sf.scaling.gantry_redeploy)} (goal ≤ 2: ${sf.goals.scaling_met ? 'met' : 'MISSED'}; the hosts share this machine's cores: their CPU floor alone scales ${x(sf.scaling.gantry_redeploy_floor)}), ansible ${x(sf.scaling.ansible_redeploy)}; first deploy ratio [${firsts}]`);
  } else out.push(`ssh fleet            ${sf?.error ? `error: ${sf.error}` : 'not run'}`);
  return out;
}

/** Write bench/results/<ISO basic timestamp>.json and latest.json; returns the first path. */
export function writeResults(doc, startedAt) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[-:]/g, '');
  const file = join(dir, `${stamp}.json`);
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  writeFileSync(file, text);
  writeFileSync(join(dir, 'latest.json'), text);
  return file;
}
