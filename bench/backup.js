// 7. Backup and restore throughput: `gantry backup` / `gantry restore` in MB/s
// (bytes of the persistent data set ÷ wall seconds) against `tar czf` / `tar xzf`
// of the same files in the same run.
//
// A deployed hello-node (process target, 1 instance, `persist: [data]`) whose
// .gantry/apps/<app>/shared/data/ holds ~160 MB (quick: ~100 MB) in ~300 files:
// half JSON lines (compressible), half crypto.randomBytes (incompressible), a few
// dozen small files. Each round: `gantry backup --json --out` and `tar czf -C data .`
// (order alternating between rounds); then `gantry stop` (untimed), and
// `gantry restore <archive> --force --json` and `tar xzf` of the tar archive into
// an empty dir (order alternating). Gantry's archive also holds the state database
// and the release directory; its restore verifies every checksum, swaps it all in
// and starts the recorded release: all of it is in its time, none of it in tar's
// (a plain `gantry start` of the stopped app is timed too, for context).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkAborted } from './lib/cleanup.js';
import { gantry, makeApp, succeeded } from './lib/gantry.js';
import { median, now, ratio, summarize } from './lib/timing.js';

const MB = 1e6;
const round1 = (x) => Math.round(x * 10) / 10;
const round3 = (x) => Math.round(x * 1000) / 1000;

/** A small deterministic PRNG (xorshift32), so the text half is the same every run. */
function prng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const ACTIONS = ['login', 'view', 'edit', 'save', 'upload', 'logout', 'search', 'export'];
const PATHS = ['/api/items', '/api/users', '/api/orders', '/static/app.js', '/health', '/api/search'];

/** ~bytes of JSON lines (an access/event log), as a Buffer. */
function jsonLines(bytes, rnd, startId) {
  const lines = [];
  let size = 0;
  let id = startId;
  while (size < bytes) {
    const l = `${JSON.stringify({
      id: id++,
      ts: new Date(1_790_000_000_000 + id * 137).toISOString(),
      user: `user-${Math.floor(rnd() * 5000)}`,
      action: ACTIONS[Math.floor(rnd() * ACTIONS.length)],
      path: PATHS[Math.floor(rnd() * PATHS.length)],
      status: rnd() < 0.97 ? 200 : 500,
      duration_ms: Math.round(rnd() * 250 * 100) / 100,
      bytes: Math.floor(rnd() * 65536),
      session: Math.floor(rnd() * 2 ** 32).toString(16),
    })}\n`;
    lines.push(l);
    size += l.length;
  }
  return { buf: Buffer.from(lines.join('')), nextId: id };
}

/**
 * Fill dir with ~totalBytes: half JSON-lines files, half random-byte files (sizes
 * varying x0.25..x1.75 around the mean), plus 60 small files (1-16 KiB, mixed).
 * Resolves { bytes, files, text_bytes, random_bytes }.
 */
function fillDataSet(dir, totalBytes) {
  const bigFiles = 120; // of each kind
  const factors = [0.25, 0.5, 1, 1.5, 1.75];
  const rnd = prng(20261124);
  let textBytes = 0;
  let randomBytesTotal = 0;
  let files = 0;
  let id = 0;
  const mean = totalBytes / 2 / bigFiles;
  for (let i = 0; i < bigFiles; i++) {
    const sub = join(dir, 'logs', `2026-11-${String((i % 28) + 1).padStart(2, '0')}`);
    mkdirSync(sub, { recursive: true });
    const { buf, nextId } = jsonLines(Math.round(mean * factors[i % factors.length]), rnd, id);
    id = nextId;
    writeFileSync(join(sub, `events-${i}.jsonl`), buf);
    textBytes += buf.length;
    files++;
  }
  for (let i = 0; i < bigFiles; i++) {
    const sub = join(dir, 'uploads', String(i % 10));
    mkdirSync(sub, { recursive: true });
    const buf = randomBytes(Math.round(mean * factors[(i + 2) % factors.length]));
    writeFileSync(join(sub, `blob-${i}.bin`), buf);
    randomBytesTotal += buf.length;
    files++;
  }
  mkdirSync(join(dir, 'small'), { recursive: true });
  for (let i = 0; i < 60; i++) {
    const size = 1024 * (1 + (i % 16));
    const buf = i % 2 ? randomBytes(size) : jsonLines(size, rnd, id).buf.subarray(0, size);
    writeFileSync(join(dir, 'small', `item-${i}.${i % 2 ? 'bin' : 'json'}`), buf);
    if (i % 2) randomBytesTotal += buf.length;
    else textBytes += buf.length;
    files++;
  }
  return { bytes: textBytes + randomBytesTotal, files, text_bytes: textBytes, random_bytes: randomBytesTotal };
}

/** { files, bytes } of the regular files under dir. */
function tally(dir) {
  let files = 0;
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    files++;
    bytes += statSync(join(e.parentPath ?? e.path, e.name)).size;
  }
  return { files, bytes };
}

/** Run a command (argv, no shell); resolves its wall ms, rejects on a non-zero exit. */
function timed(cmd, args) {
  checkAborted();
  return new Promise((resolve, reject) => {
    const t0 = now();
    execFile(cmd, args, { maxBuffer: 16 * MB }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(now() - t0);
    });
  });
}

export async function benchBackup({ quick, log }) {
  const rounds = quick ? 1 : 3;
  const target = quick ? 100 * MB : 160 * MB;
  const app = makeApp({ name: 'backup', instances: 1, edit: (doc) => (doc.persist = ['data']) });
  const runs = [];
  let data;
  try {
    const d = succeeded(await gantry(app, ['deploy']), 'initial deploy');
    const dataDir = join(app.dir, '.gantry', 'apps', d.json.app, 'shared', 'data');
    statSync(dataDir); // the persistent dir exists once deployed
    const t0 = now();
    data = fillDataSet(dataDir, target);
    log(`  data set: ${(data.bytes / MB).toFixed(1)} MB in ${data.files} files (${(data.text_bytes / MB).toFixed(1)} MB JSON lines, ${(data.random_bytes / MB).toFixed(1)} MB random) written in ${Math.round(now() - t0)} ms`);
    const work = join(app.base, 'archives');
    mkdirSync(work, { recursive: true });

    for (let i = 0; i < rounds; i++) {
      checkAborted();
      const gArchive = join(work, `b-${i}.tar.gz`);
      const tArchive = join(work, `t-${i}.tar.gz`);
      const run = { round: i + 1 };
      // Backup: gantry and tar czf, order alternating between rounds.
      const doGantry = async () => {
        const r = await gantry(app, ['backup', '--out', gArchive], { timeoutMs: 300_000 });
        if (r.code !== 0 || !r.json?.file) throw new Error(`gantry backup failed (exit ${r.code}): ${(r.stdout || r.stderr).slice(0, 2000)}`);
        run.backup_ms = r.wallMs;
        run.backup_archive_bytes = statSync(gArchive).size;
        run.backup_entries = r.json.entries;
      };
      const doTar = async () => {
        run.tar_czf_ms = await timed('tar', ['czf', tArchive, '-C', dataDir, '.']);
        run.tar_archive_bytes = statSync(tArchive).size;
      };
      if (i % 2 === 0) {
        await doGantry();
        await doTar();
      } else {
        await doTar();
        await doGantry();
      }

      // For context (not in the ratio): a plain `gantry start` of the stopped app, which a restore also does.
      run.stop_ms = succeeded(await gantry(app, ['stop'], { timeoutMs: 60_000 }), 'gantry stop').wallMs;
      run.start_ms = succeeded(await gantry(app, ['start'], { timeoutMs: 60_000 }), 'gantry start').wallMs;
      // Restore: the app stopped first (untimed), then gantry restore and tar xzf, order alternating.
      succeeded(await gantry(app, ['stop'], { timeoutMs: 60_000 }), 'gantry stop before restore');
      const extractDir = join(work, `x-${i}`);
      const doRestore = async () => {
        const r = await gantry(app, ['restore', gArchive, '--force'], { timeoutMs: 300_000 });
        if (r.code !== 0 || !r.json?.restored_at) throw new Error(`gantry restore failed (exit ${r.code}): ${(r.stdout || r.stderr).slice(0, 2000)}`);
        run.restore_ms = r.wallMs;
        run.restore_files = r.json.files;
      };
      const doUntar = async () => {
        mkdirSync(extractDir);
        run.tar_xzf_ms = await timed('tar', ['xzf', tArchive, '-C', extractDir]);
      };
      if (i % 2 === 0) {
        await doRestore();
        await doUntar();
      } else {
        await doUntar();
        await doRestore();
      }
      // Both put back every byte of the data set.
      const restored = tally(dataDir);
      const extracted = tally(extractDir);
      if (restored.bytes !== data.bytes || restored.files !== data.files) throw new Error(`after gantry restore: ${restored.files} files / ${restored.bytes} bytes in ${dataDir}, expected ${data.files} / ${data.bytes}`);
      if (extracted.bytes !== data.bytes || extracted.files !== data.files) throw new Error(`after tar xzf: ${extracted.files} files / ${extracted.bytes} bytes, expected ${data.files} / ${data.bytes}`);
      rmSync(extractDir, { recursive: true, force: true });
      rmSync(gArchive, { force: true });
      rmSync(tArchive, { force: true });

      const mbps = (ms) => round1(data.bytes / MB / (ms / 1000));
      Object.assign(run, { backup_mb_s: mbps(run.backup_ms), tar_czf_mb_s: mbps(run.tar_czf_ms), restore_mb_s: mbps(run.restore_ms), tar_xzf_mb_s: mbps(run.tar_xzf_ms) });
      for (const k of ['backup_ms', 'tar_czf_ms', 'stop_ms', 'start_ms', 'restore_ms', 'tar_xzf_ms']) run[k] = round1(run[k]);
      runs.push(run);
      log(`  round ${i + 1}/${rounds}: backup ${run.backup_mb_s} MB/s (${run.backup_ms} ms, ${(run.backup_archive_bytes / MB).toFixed(1)} MB) vs tar czf ${run.tar_czf_mb_s} MB/s (${run.tar_czf_ms} ms, ${(run.tar_archive_bytes / MB).toFixed(1)} MB); restore ${run.restore_mb_s} MB/s (${run.restore_ms} ms) vs tar xzf ${run.tar_xzf_mb_s} MB/s (${run.tar_xzf_ms} ms)`);
    }
  } finally {
    await app.cleanup();
  }

  const mbpsOf = (key) => round1(data.bytes / MB / (median(runs.map((r) => r[key])) / 1000));
  const backup = mbpsOf('backup_ms');
  const tarC = mbpsOf('tar_czf_ms');
  const restore = mbpsOf('restore_ms');
  const tarX = mbpsOf('tar_xzf_ms');
  return {
    data_set: { ...data, mb: round1(data.bytes / MB) },
    rounds: runs.length,
    backup: { mb_s: backup, wall_ms: summarize(runs.map((r) => r.backup_ms)), archive_bytes: median(runs.map((r) => r.backup_archive_bytes)), compression_ratio: round3(median(runs.map((r) => r.backup_archive_bytes)) / data.bytes) },
    tar_czf: { mb_s: tarC, wall_ms: summarize(runs.map((r) => r.tar_czf_ms)), archive_bytes: median(runs.map((r) => r.tar_archive_bytes)), compression_ratio: round3(median(runs.map((r) => r.tar_archive_bytes)) / data.bytes) },
    restore: { mb_s: restore, wall_ms: summarize(runs.map((r) => r.restore_ms)) },
    tar_xzf: { mb_s: tarX, wall_ms: summarize(runs.map((r) => r.tar_xzf_ms)) },
    stop_wall_ms: summarize(runs.map((r) => r.stop_ms)),
    // `gantry start` of the same stopped app: the part of a restore that is not moving data.
    start_wall_ms: summarize(runs.map((r) => r.start_ms)),
    restore_minus_start_mb_s: round1(data.bytes / MB / ((median(runs.map((r) => r.restore_ms)) - median(runs.map((r) => r.start_ms))) / 1000)),
    backup_ratio: ratio(backup, tarC),
    restore_ratio: ratio(restore, tarX),
    runs,
  };
}
