/**
 * When each phase of a CLI run's start-up began, for `npm run bench` (bench/startup.js), which
 * splits "CLI start to the plan" with them: Node's own start, loading the code-cached bundle,
 * evaluating its modules, the command's module and arguments, then the command until the plan.
 * Recorded only when GANTRY_STARTUP_MARKS names a file: the run writes there at exit
 * `{ timeOrigin, marks: { name: ms since the process started } }`. bin/gantry.js records its
 * first mark itself (it runs before this module is loaded), in the same global list.
 */
import { writeFileSync } from 'node:fs';

const KEY = '__gantryStartupMarks';
type Marks = Array<[string, number]>;

const marks = (): Marks => ((globalThis as Record<string, unknown>)[KEY] ??= []) as Marks;

export function markStartup(name: string): void {
  if (process.env.GANTRY_STARTUP_MARKS) marks().push([name, performance.now()]);
}

/** Writes the marks to GANTRY_STARTUP_MARKS's file when the process exits (nothing when it is unset). */
export function writeStartupMarksAtExit(): void {
  const file = process.env.GANTRY_STARTUP_MARKS;
  if (!file) return;
  process.once('exit', () => {
    try {
      writeFileSync(file, JSON.stringify({ timeOrigin: performance.timeOrigin, marks: Object.fromEntries(marks()) }));
    } catch {
      /* a bench aid: a file that cannot be written loses only the marks */
    }
  });
}
