// Everything the bench starts registers its undo here; run.js runs them all
// in a finally, on SIGINT/SIGTERM and when the global deadline passes.
import { readlinkSync } from 'node:fs';

const tasks = [];
let abortReason;
let running;

/** After a signal or the deadline: no new work starts, whatever runs stops at its next check. */
export function abort(reason) {
  abortReason ??= reason;
}

export const aborted = () => abortReason !== undefined;

/** Throw when the run was aborted (called before each unit of work). */
export function checkAborted() {
  if (abortReason !== undefined) throw new Error(`aborted (${abortReason})`);
}

/**
 * Register an async undo; returns a function that runs it now (once) and
 * unregisters it, with `.cancel()` to unregister it without running it.
 */
export function onCleanup(label, fn) {
  const task = { label, fn, done: false };
  tasks.push(task);
  const forget = () => {
    if (task.done) return false;
    task.done = true;
    const i = tasks.indexOf(task);
    if (i >= 0) tasks.splice(i, 1);
    return true;
  };
  const run = async () => {
    if (forget()) await fn();
  };
  run.cancel = forget;
  return run;
}

/** Run every pending undo, newest first; errors are reported, never thrown. Concurrent calls share one pass. */
export function cleanupAll(log = console.error) {
  running ??= drain(log).finally(() => (running = undefined));
  return running;
}

async function drain(log) {
  while (tasks.length) {
    const task = tasks.pop();
    if (task.done) continue;
    task.done = true;
    try {
      await task.fn();
    } catch (err) {
      log(`cleanup ${task.label}: ${err.message}`);
    }
  }
}

/** Is the process (by pid) still there? */
export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Does the process run in (a directory under) dir? Guards kills by recorded pid against pid reuse. */
export function runsUnder(pid, dir) {
  try {
    return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
  } catch {
    return false;
  }
}

/** SIGTERM a pid (or a process group with group: true), SIGKILL if it outlives graceMs. */
export async function killPid(pid, { graceMs = 3000, group = false } = {}) {
  if (!pid || !alive(pid)) return;
  const target = group ? -pid : pid;
  try {
    process.kill(target, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  if (alive(pid)) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}
