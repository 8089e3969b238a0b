/**
 * What a release keeps on this machine: its chart and the input it was
 * rendered from (no secret value), so a rollback re-applies exactly that
 * release without its manifest. `.gantry/charts/<app>/` holds the newest chart.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GantryError } from '../../core/errors.js';
import type { ChartInput } from './chart-input.js';
import { writeChart } from './chart-files.js';

export const releaseDir = (stateDir: string, target: string, release: string): string => join(stateDir, 'kubernetes', target, release);

/** Writes the newest chart, then its copy and input for the release; returns the release's chart directory. */
export function keepRelease(stateDir: string, target: string, input: ChartInput): string {
  const newest = writeChart(stateDir, input);
  const dir = releaseDir(stateDir, target, input.release);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(newest, join(dir, 'chart'), { recursive: true });
  writeFileSync(join(dir, 'input.json'), `${JSON.stringify(input, null, 2)}\n`);
  return join(dir, 'chart');
}

export function readReleaseInput(stateDir: string, target: string, release: string): ChartInput {
  try {
    return JSON.parse(readFileSync(join(releaseDir(stateDir, target, release), 'input.json'), 'utf8')) as ChartInput;
  } catch {
    throw new GantryError('RELEASE_NOT_FOUND', `the chart of release ${release} is not kept on this machine`, 'deploy it again (gantry deploy --force)');
  }
}

export function removeRelease(stateDir: string, target: string, release: string): void {
  rmSync(releaseDir(stateDir, target, release), { recursive: true, force: true });
}
