// Everything the bench starts registers its undo here; run.js runs them all
// in a finally, on SIGINT/SIGTERM and when the global deadline passes.
const tasks = [];

/** Register an async undo; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(label, fn) {
  const task = { label, fn, done: false };
  tasks.push(task);
  return async () => {
    if (task.done) return;
    task.done = true;
    tasks.splice(tasks.indexOf(task), 1);
    await fn();
  };
}

/** Run every pending undo, newest first; errors are reported, never thrown. */
export async function cleanupAll(log = console.error) {
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
