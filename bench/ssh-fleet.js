// 8. SSH fleet: `gantry deploy --target fleet` (the ssh target) to 1, 10 and 30 real
// systemd+sshd hosts, side by side in the same run with an Ansible playbook doing the same
// work to the same hosts (bench/lib/ansible.js: synchronize, template, systemd, uri health
// check; forks = host count, pipelining on). Gantry ÷ Ansible at each size, and
// T(30) ÷ T(1) for each. Goal: ≤ 0.33 of Ansible's time at 30 hosts, T(30)/T(1) ≤ 2.
//
// 30 hosts (containers of gantry-vm:bookworm) are booted once; each size uses the first N
// with its own app names and ports (`bench-ssh-<N>` for Gantry, `bench-ansible-<N>` for
// Ansible), so each size starts with a real first deploy: nothing of that app on its hosts.
// Per size and side: a first deploy, then redeploys of a one-file change (the same comment
// line appended to server.js on both sides), in alternating order; after each, every host
// is checked over HTTP to serve the new release (outside the timed region). The redeploy
// median is the headline. Each size's apps are stopped before the next size.
import { request } from 'undici';
import { ansibleVersion, ensureAnsible, runPlaybook, writeAnsibleProject } from './lib/ansible.js';
import { checkAborted } from './lib/cleanup.js';
import { deployBreakdown, gantry, makeApp } from './lib/gantry.js';
import { hostExec, mapLimit, sshHostsProblem, startHosts } from './lib/ssh-hosts.js';
import { medianPhases } from './deploy.js';
import { median, ratio, summarize } from './lib/timing.js';
import { containerCpuFile, containersCpuMs, endedChildrenCpuMs } from './lib/cpu.js';
import { cpus } from 'node:os';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Host counts, smallest first; BENCH_FLEET_SIZES=1,3 overrides them (a smaller machine, a trial run). */
export const FLEET_SIZES = (process.env.BENCH_FLEET_SIZES ?? '1,10,30').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
const round = (x) => Math.round(x * 10) / 10;
/**
 * SSH connect timeout on both sides (Gantry's connect_timeout, Ansible's timeout; both default
 * to 10 s): 30 connections at once on 2 busy cores took longer than 10 s to one host.
 */
export const CONNECT_TIMEOUT_S = 30;
/** The agent proxy's port on each host (Gantry) and the app's own port (Ansible), per size. */
const gantryPort = (n) => 8100 + n;
const ansiblePort = (n) => 9100 + n;

/**
 * How long each host may take to answer the check after a deploy. One request with a 5 s
 * headers timeout was not enough at 30 hosts on 2 busy cores (load average 116): a host that
 * served the release answered late and counted as failed. Each host is asked again until it
 * answers or this deadline passes; a host that answers with another release fails at once.
 */
const SERVE_CHECK_DEADLINE_MS = 120_000;
const SERVE_CHECK_REQUEST_MS = 10_000;

/** GET http://<ip>:<port>/health; resolves the release it reports, or an error text. */
async function releaseAt(ip, port) {
  try {
    const res = await request(`http://${ip}:${port}/health`, { headersTimeout: SERVE_CHECK_REQUEST_MS, bodyTimeout: SERVE_CHECK_REQUEST_MS, reset: true });
    const body = await res.body.text();
    if (res.statusCode !== 200) return `HTTP ${res.statusCode}`;
    return JSON.parse(body).release;
  } catch (err) {
    return `error ${err.code ?? err.message}`;
  }
}

/** The release a host serves: asked again (bounded by the deadline) while it does not answer or answers an error status. */
async function releaseBy(ip, port, deadline) {
  for (let attempt = 0; ; attempt++) {
    const r = await releaseAt(ip, port);
    const unanswered = r.startsWith('error ') || r.startsWith('HTTP ');
    if (!unanswered || Date.now() >= deadline) return r;
    await new Promise((res) => setTimeout(res, Math.min(2000, 250 * 2 ** attempt)));
  }
}

/** Every host serves `release` on `port`, or an Error naming the hosts that do not. */
async function checkServes(hosts, port, release, what) {
  const deadline = Date.now() + SERVE_CHECK_DEADLINE_MS;
  const seen = await mapLimit(hosts, 16, (h) => releaseBy(h.ip, port, deadline));
  const wrong = hosts.map((h, i) => [h.ip, seen[i]]).filter(([, r]) => r !== release);
  if (wrong.length) throw new Error(`${what}: ${wrong.length}/${hosts.length} host(s) do not serve release ${release}: ${wrong.slice(0, 5).map(([ip, r]) => `${ip} → ${r}`).join(', ')}`);
}

/** Gantry's per-host outcome from its --json result (`nodes`): status, duration, bytes and files sent. */
function perHost(json) {
  if (!Array.isArray(json?.nodes)) return undefined;
  return json.nodes.map((h) => ({ node: h.node, status: h.status, duration_ms: h.duration_ms, bytes_sent: h.bytes_sent, files_sent: h.files_sent, files_total: h.files_total }));
}

/** One deploy's hosts in short: how many succeeded, bytes sent and time per host (min, median, max). */
function hostSummary(hosts) {
  if (!hosts) return undefined;
  const pick = (k) => hosts.map((h) => h[k]).filter(Number.isFinite);
  return { succeeded: hosts.filter((h) => h.status === 'succeeded').length, of: hosts.length, bytes_sent: summarize(pick('bytes_sent')), files_sent: summarize(pick('files_sent')), node_duration_ms: summarize(pick('duration_ms')) };
}

function gantryManifest(n, hosts, fleet) {
  return (doc) => {
    doc.app = `bench-ssh-${n}`;
    doc.run = { command: 'node server.js', port: 3000, instances: 1 };
    doc.strategy = { type: 'rolling', batch: '100%', watch: 0 };
    // As patient as the playbook's health check (30 tries a second apart): at 30 hosts on 2 shared
    // cores an app can take longer than the example's 20 s start period to listen.
    doc.health = { ...doc.health, start_period: '30s' };
    doc.targets = {
      fleet: { type: 'ssh', hosts: hosts.map((h) => `root@${h.ip}`), key: fleet.keyFile, known_hosts: fleet.knownHostsFile, port: gantryPort(n), path: '/opt/gantry', connect_timeout: `${CONNECT_TIMEOUT_S}s` },
    };
  };
}

/**
 * CPU spent by one deploy: by the controller (the CLI or ansible-playbook, with what it ran and
 * waited for) and by the hosts (their containers' cgroups). The hosts are containers on this
 * machine's cores, so (controller + hosts) ÷ cores is a floor under the deploy's wall time here.
 */
function cpuMeter(hosts) {
  const files = hosts.map((h) => containerCpuFile(h.id)).filter(Boolean);
  const c0 = endedChildrenCpuMs();
  const h0 = containersCpuMs(files);
  return () => {
    const controller = Math.round(endedChildrenCpuMs() - c0);
    const onHosts = files.length === hosts.length ? Math.round(containersCpuMs(files) - h0) : undefined;
    return { controller_ms: controller, hosts_ms: onHosts, floor_ms: onHosts === undefined ? undefined : Math.round((controller + onHosts) / cpus().length) };
  };
}

async function gantryDeploy(app, hosts, n, what, log) {
  const meter = cpuMeter(hosts);
  const r = await gantry(app, ['deploy', '--target', 'fleet'], { timeoutMs: 600_000 });
  const cpu = meter();
  if (r.json?.status !== 'succeeded') throw new Error(`gantry ${what} to ${n} host(s) failed (exit ${r.code}): ${(r.stdout || r.stderr).slice(0, 2000)}`);
  await checkServes(hosts, gantryPort(n), r.json.release, `gantry ${what}`);
  const run = { wall_ms: round(r.wallMs), engine_ms: r.json.duration_ms, release: r.json.release, breakdown: await deployBreakdown(app, r), hosts: hostSummary(perHost(r.json)), cpu };
  log(`  ${n} host(s) gantry ${what}: ${(r.wallMs / 1000).toFixed(2)} s (engine ${r.json.duration_ms} ms; per host: ${run.hosts ? `${run.hosts.bytes_sent.median} B sent, ${run.hosts.node_duration_ms.median} ms median` : 'no node report'}; ${cpuText(cpu)})`);
  return run;
}

const cpuText = (c) => `CPU: controller ${(c.controller_ms / 1000).toFixed(1)} s, hosts ${c.hosts_ms === undefined ? 'n/a' : `${(c.hosts_ms / 1000).toFixed(1)} s`}, floor on ${cpus().length} cores ${c.floor_ms === undefined ? 'n/a' : `${(c.floor_ms / 1000).toFixed(1)} s`}`;

async function ansibleDeploy(project, hosts, n, release, what, log) {
  const meter = cpuMeter(hosts);
  const r = await runPlaybook(project, { app: `bench-ansible-${n}`, app_port: ansiblePort(n), release });
  const cpu = meter();
  if (r.code !== 0 || r.failed.length) throw new Error(`ansible ${what} to ${n} host(s) failed (exit ${r.code}; hosts ${r.failed.join(', ') || 'none'}): ${r.problem ?? ''}`);
  await checkServes(hosts, ansiblePort(n), release, `ansible ${what}`);
  log(`  ${n} host(s) ansible ${what}: ${(r.wallMs / 1000).toFixed(2)} s (${r.tasks.map((t) => `${t.name} ${(t.ms / 1000).toFixed(1)}`).join(', ')}; ${cpuText(cpu)})`);
  return { wall_ms: round(r.wallMs), tasks: r.tasks, cpu };
}

/** Median wall time of each Ansible task across runs, in ms. */
function medianTasks(runs) {
  const names = [...new Set(runs.flatMap((r) => r.tasks.map((t) => t.name)))];
  return Object.fromEntries(names.map((nm) => [nm, Math.round(median(runs.flatMap((r) => r.tasks.filter((t) => t.name === nm).map((t) => t.ms))))]));
}

/** Median of each CPU figure across runs. */
function medianCpu(runs) {
  const m = (k) => (runs.every((r) => Number.isFinite(r.cpu?.[k])) && runs.length ? Math.round(median(runs.map((r) => r.cpu[k]))) : undefined);
  return { controller_ms: m('controller_ms'), hosts_ms: m('hosts_ms'), floor_ms: m('floor_ms') };
}

async function benchSize(n, fleet, { redeploys, log }) {
  const hosts = fleet.hosts.slice(0, n);
  const app = makeApp({ name: `ssh-${n}`, edit: gantryManifest(n, hosts, fleet) });
  const projectDir = mkdtempSync(join(tmpdir(), `gantry-bench-ansible-${n}-`));
  const project = writeAnsibleProject(projectDir, { hosts, keyFile: fleet.keyFile, knownHostsFile: fleet.knownHostsFile, appDir: app.dir, connectTimeoutS: CONNECT_TIMEOUT_S });
  const g = { first: undefined, redeploy: [] };
  const a = { first: undefined, redeploy: [] };
  try {
    // First deploys: nothing of either app on these hosts yet.
    g.first = await gantryDeploy(app, hosts, n, 'first deploy', log);
    a.first = await ansibleDeploy(project, hosts, n, 'r0', 'first deploy', log);
    for (let i = 1; i <= redeploys; i++) {
      checkAborted();
      // The same one-file change on both sides.
      const line = `// bench revision ${i}\n`;
      appendFileSync(join(app.dir, 'server.js'), line);
      appendFileSync(join(project.src, 'server.js'), line);
      const sides = [async () => g.redeploy.push(await gantryDeploy(app, hosts, n, `redeploy ${i}`, log)), async () => a.redeploy.push(await ansibleDeploy(project, hosts, n, `r${i}`, `redeploy ${i}`, log))];
      if (i % 2 === 0) sides.reverse();
      for (const side of sides) await side();
    }
  } finally {
    await app.cleanup();
    await mapLimit(hosts, 8, (h) => hostExec(h, 'systemctl', 'stop', `bench-ansible-${n}`).catch(() => undefined));
    await project.cleanup();
    rmSync(projectDir, { recursive: true, force: true });
  }
  const gMed = median(g.redeploy.map((r) => r.wall_ms));
  const aMed = median(a.redeploy.map((r) => r.wall_ms));
  return {
    hosts: n,
    gantry: {
      first_wall_ms: g.first.wall_ms,
      redeploy_wall_ms: summarize(g.redeploy.map((r) => r.wall_ms)),
      redeploy_engine_ms: summarize(g.redeploy.map((r) => r.engine_ms)),
      first_phases_ms: g.first.breakdown?.phases,
      redeploy_phases_median_ms: medianPhases(g.redeploy.map((r) => r.breakdown)),
      first_hosts: g.first.hosts,
      redeploy_hosts: g.redeploy.at(-1)?.hosts,
      first_cpu: g.first.cpu,
      redeploy_cpu: medianCpu(g.redeploy),
    },
    ansible: {
      first_wall_ms: a.first.wall_ms,
      redeploy_wall_ms: summarize(a.redeploy.map((r) => r.wall_ms)),
      first_tasks_ms: Object.fromEntries(a.first.tasks.map((t) => [t.name, t.ms])),
      redeploy_tasks_median_ms: medianTasks(a.redeploy),
      first_cpu: a.first.cpu,
      redeploy_cpu: medianCpu(a.redeploy),
    },
    redeploy_ratio: ratio(gMed, aMed),
    first_ratio: ratio(g.first.wall_ms, a.first.wall_ms),
  };
}

const secs = (ms) => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'n/a');

/** The section's own table: hosts, Gantry s, Ansible s, ratio (redeploy and first deploy), then T(30)/T(1). */
export function fleetTable(r) {
  const lines = ['hosts  gantry redeploy s  ansible redeploy s  ratio  |  gantry first s  ansible first s  ratio'];
  for (const s of r.sizes) {
    if (s.error) {
      lines.push(`${String(s.hosts).padStart(5)}  ERROR: ${s.error.split('\n')[0].slice(0, 300)}`);
      continue;
    }
    lines.push(`${String(s.hosts).padStart(5)}  ${secs(s.gantry.redeploy_wall_ms.median).padStart(17)}  ${secs(s.ansible.redeploy_wall_ms.median).padStart(18)}  ${String(s.redeploy_ratio ?? 'n/a').padStart(5)}  |  ${secs(s.gantry.first_wall_ms).padStart(14)}  ${secs(s.ansible.first_wall_ms).padStart(15)}  ${String(s.first_ratio ?? 'n/a').padStart(5)}`);
  }
  lines.push(`CPU per redeploy (controller + hosts; the hosts are containers on this machine's ${cpus().length} cores, so their sum ÷ cores is a floor under the wall time here):`);
  for (const s of r.sizes.filter((z) => !z.error)) {
    const c = (x) => (x?.hosts_ms === undefined ? 'n/a' : `${secs(x.controller_ms)} + ${secs(x.hosts_ms)} s, floor ${secs(x.floor_ms)} s`);
    lines.push(`${String(s.hosts).padStart(5)}  gantry ${c(s.gantry.redeploy_cpu)}  |  ansible ${c(s.ansible.redeploy_cpu)}`);
  }
  const sc = r.scaling;
  if (sc) {
    lines.push(`T(${sc.to})/T(${sc.from}) redeploy: gantry ${sc.gantry_redeploy ?? 'n/a'} (its CPU floor's own ratio: ${sc.gantry_redeploy_floor ?? 'n/a'}), ansible ${sc.ansible_redeploy ?? 'n/a'}; first deploy: gantry ${sc.gantry_first ?? 'n/a'}, ansible ${sc.ansible_first ?? 'n/a'}`);
  }
  return lines.join('\n');
}

export async function benchSshFleet({ quick, log }) {
  const redeploys = quick ? 1 : 3;
  const problem = await sshHostsProblem();
  if (problem) {
    const msg = `ssh-fleet section skipped: ${problem}`;
    log(msg);
    console.log(msg);
    return { skipped: problem };
  }
  const installed = await ensureAnsible(log);
  const version = await ansibleVersion();
  const max = Math.max(...FLEET_SIZES);
  log(`  booting ${max} ssh hosts (${version})`);
  const fleet = await startHosts(max, { tag: 'fleet', log });
  log(`  ${max} hosts up in ${(fleet.bootMs / 1000).toFixed(1)} s`);
  const sizes = [];
  try {
    // synchronize needs rsync on the hosts too (an image built before it was in the package list lacks it).
    if (!(await hostExec(fleet.hosts[0], 'sh', '-c', 'command -v rsync || true'))) throw new Error(`no rsync on the hosts: rebuild ${'gantry-vm:bookworm'} with scripts/build-vm-image.sh`);
    for (const n of FLEET_SIZES) {
      checkAborted();
      // A size that fails is reported as such; the others still run and report.
      sizes.push(await benchSize(n, fleet, { redeploys, log }).catch((err) => {
        if (err.message.startsWith('aborted')) throw err;
        log(`  ${n} host(s) failed: ${err.message.slice(0, 1500)}`);
        return { hosts: n, error: err.message.slice(0, 4000) };
      }));
    }
  } finally {
    await fleet.remove();
  }
  const ok = sizes.filter((z) => !z.error);
  const first = sizes[0].error ? { hosts: sizes[0].hosts, gantry: {}, ansible: {} } : sizes[0];
  const last = sizes.at(-1).error ? { hosts: sizes.at(-1).hosts, gantry: {}, ansible: {} } : sizes.at(-1);
  const result = {
    ansible: version,
    installed,
    hosts_boot_ms: fleet.bootMs,
    redeploys_per_size: redeploys,
    sizes,
    scaling: {
      from: first.hosts,
      to: last.hosts,
      gantry_redeploy: ratio(last.gantry.redeploy_wall_ms?.median, first.gantry.redeploy_wall_ms?.median),
      ansible_redeploy: ratio(last.ansible.redeploy_wall_ms?.median, first.ansible.redeploy_wall_ms?.median),
      gantry_first: ratio(last.gantry.first_wall_ms, first.gantry.first_wall_ms),
      // What the hosts' CPU alone allows on this machine: the same ratio of the CPU floors.
      gantry_redeploy_floor: ratio(last.gantry.redeploy_cpu?.floor_ms, first.gantry.redeploy_cpu?.floor_ms),
      ansible_first: ratio(last.ansible.first_wall_ms, first.ansible.first_wall_ms),
    },
    goals: { ratio_at_max: 0.33, scaling: 2 },
  };
  result.sizes_failed = sizes.length - ok.length;
  result.goals.ratio_met = Number.isFinite(last.redeploy_ratio) && last.redeploy_ratio <= 0.33;
  result.goals.scaling_met = Number.isFinite(result.scaling.gantry_redeploy) && result.scaling.gantry_redeploy <= 2;
  console.log(`\nssh fleet (redeploy = one-file change; median of ${redeploys})\n${fleetTable(result)}`);
  return result;
}
