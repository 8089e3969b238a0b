// `npm run bench` = build, then this: every section against its baseline measured
// in the same run; a table, a summary and bench/results/<timestamp>.json.
//
//   node bench/run.js [--quick] [--only startup,deploy,zero-downtime,proxy,rollback,docker,scale,config,backup,server,ssh-fleet]
import os from 'node:os';
import { abort, aborted, cleanupAll } from './lib/cleanup.js';
import { cpuBusyPercent, formatTable, machine, summaryLines, tableRows, writeResults } from './lib/report.js';
import { benchDeploy } from './deploy.js';
import { benchZeroDowntime } from './zero-downtime.js';
import { benchProxy } from './proxy.js';
import { benchRollback } from './rollback.js';
import { benchDocker } from './docker.js';
import { benchScale } from './scale.js';
import { benchBackup } from './backup.js';
import { benchSshFleet } from './ssh-fleet.js';
import { benchServer } from './server.js';
import { benchStartup } from './startup.js';
import { benchConfig } from './config.js';

const SECTIONS = { startup: benchStartup, deploy: benchDeploy, 'zero-downtime': benchZeroDowntime, proxy: benchProxy, rollback: benchRollback, docker: benchDocker, scale: benchScale, config: benchConfig, backup: benchBackup, server: benchServer, 'ssh-fleet': benchSshFleet };
const ALIASES = { zd: 'zero-downtime', zero: 'zero-downtime', 'zero_downtime': 'zero-downtime', ssh: 'ssh-fleet', fleet: 'ssh-fleet', env: 'config' };
/** The sections before ssh-fleet (a full run on 2 cores: ≈ 12 minutes, the Docker Swarm and PM2 peers included) must end by this: past it, clean up and exit 1. */
const DEADLINE_MS = 20 * 60_000;
/** ssh-fleet (30 hosts booted, Ansible beside Gantry at 1, 10 and 30 hosts) adds its own budget. */
const FLEET_BUDGET_MS = 30 * 60_000;

function parseArgs(argv) {
  const opts = { quick: false, only: Object.keys(SECTIONS) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      opts.only = String(v ?? '')
        .split(',')
        .map((s) => ALIASES[s.trim()] ?? s.trim())
        .filter(Boolean);
      const bad = opts.only.filter((s) => !SECTIONS[s]);
      if (bad.length || !opts.only.length) usage(`unknown section(s): ${bad.join(', ') || '(none)'}`);
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown option ${a}`);
  }
  return opts;
}

function usage(problem) {
  if (problem) console.error(`bench: ${problem}`);
  console.error(`usage: node bench/run.js [--quick] [--only ${Object.keys(SECTIONS).join(',')}]`);
  process.exit(problem ? 2 : 0);
}

const log = (m) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const doc = { started_at: startedAt.toISOString(), quick: opts.quick, sections_run: opts.only, machine: machine(), results: {} };

  let finishing = false;
  const finish = async (code, why) => {
    if (finishing) return;
    finishing = true;
    if (why) {
      log(why);
      abort(why);
    }
    await cleanupAll(log);
    doc.finished_at = new Date().toISOString();
    doc.duration_s = Math.round((Date.now() - startedAt.getTime()) / 100) / 10;
    doc.machine.loadavg_at_end = os.loadavg();
    doc.machine.cpu_busy_after_percent = await cpuBusyPercent(2000);
    doc.summary = summaryLines(doc.results);
    // Measured while the bench itself is idle: any of it is other work sharing the machine.
    const busy = Math.max(doc.machine.cpu_busy_before_percent ?? 0, doc.machine.cpu_busy_after_percent ?? 0);
    if (busy > 20) doc.summary.push(`warning: CPUs ${doc.machine.cpu_busy_before_percent}% busy before / ${doc.machine.cpu_busy_after_percent}% after the run with the bench idle: other work shares the machine, figures are noisy`);
    console.log(`\n${formatTable(tableRows(doc.results))}\n`);
    console.log('summary');
    for (const l of doc.summary) console.log(`  ${l}`);
    const file = writeResults(doc, startedAt);
    console.log(`\n${opts.quick ? 'quick run, ' : ''}${doc.duration_s} s; results in ${file} (and bench/results/latest.json)`);
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => void finish(130, `${sig}: cleaning up`));
  const deadlineMs = DEADLINE_MS + (opts.only.includes('ssh-fleet') ? FLEET_BUDGET_MS : 0);
  const watchdog = setTimeout(() => void finish(1, `deadline of ${deadlineMs / 1000} s passed: cleaning up`), deadlineMs);

  doc.machine.cpu_busy_before_percent = await cpuBusyPercent(2000);
  log(`CPUs ${doc.machine.cpu_busy_before_percent}% busy before the run (other work)`);
  log(`${doc.machine.cpu_count} x ${doc.machine.cpu_model}, node ${doc.machine.node}, kernel ${doc.machine.kernel}${opts.quick ? ', quick' : ''}`);
  let failed = false;
  for (const name of opts.only) {
    if (aborted()) break;
    log(`== ${name}`);
    const t = Date.now();
    try {
      doc.results[name] = await SECTIONS[name]({ quick: opts.quick, log });
      doc.results[name].section_s = Math.round((Date.now() - t) / 100) / 10;
      // ssh-fleet reports a failed host count as an ERROR row and runs the other sizes: the run still fails.
      if (doc.results[name].sizes_failed) failed = true;
    } catch (err) {
      failed = true;
      log(`${name} failed: ${err.stack ?? err.message}`);
      doc.results[name] = { error: err.message, section_s: Math.round((Date.now() - t) / 100) / 10 };
    }
    // Whatever a section left behind goes before the next one measures.
    await cleanupAll(log);
  }
  clearTimeout(watchdog);
  await finish(failed ? 1 : 0);
}

await main();
