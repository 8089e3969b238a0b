/**
 * Writes the chart into `.gantry/charts/<app>/` (Chart.yaml, values.yaml,
 * templates/), packageable with `helm package`. It holds no secret value: the
 * pods read the Secret by name.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ChartInput } from './chart-input.js';
import { hookJobs } from './hook-jobs.js';
import { chartObjects, chartValues, type Phase } from './render.js';
import { toTemplate } from './values-ref.js';

export const chartDir = (stateDir: string, app: string): string => join(stateDir, 'charts', app);

const yaml = (v: unknown): string => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false });

/** Chart versions are SemVer: the release id rides as a pre-release part (unique and ordered by time). */
export const chartVersion = (release: string): string => `1.0.0-${release.replace(/[^0-9A-Za-z-]/g, '-')}`;

export function chartFiles(i: ChartInput, phase?: Phase): Record<string, string> {
  const files: Record<string, string> = {
    'Chart.yaml': yaml({ apiVersion: 'v2', name: i.name, description: `${i.app}, deployed by Gantry`, type: 'application', version: chartVersion(i.release), appVersion: i.release }),
    'values.yaml': `# Set by gantry for each step of a rollout (images, replicas, weights, the active track).\n${yaml(chartValues(i, phase))}`,
    '.helmignore': '*.tgz\n',
  };
  chartObjects(i).forEach((obj, n) => {
    files[`templates/${String(n).padStart(2, '0')}-${obj.kind.toLowerCase()}-${obj.metadata.name}.yaml`] = toTemplate(yaml(obj));
  });
  // Each hook Job is rendered only by the upgrade whose values turn it on (render.ts, hookValues).
  for (const { hook, job } of hookJobs(i)) files[`templates/hook-${hook.replace('_', '-')}-job.yaml`] = `{{- if .Values.hooks.${hook} }}\n${toTemplate(yaml(job))}{{- end }}\n`;
  return files;
}

/** Replaces the chart directory as a whole (written aside, then renamed): a reader never sees half a chart. */
export function writeChart(stateDir: string, i: ChartInput, phase?: Phase): string {
  const dir = chartDir(stateDir, i.app);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  for (const [rel, text] of Object.entries(chartFiles(i, phase))) {
    mkdirSync(join(tmp, rel, '..'), { recursive: true });
    writeFileSync(join(tmp, rel), text);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, '..'), { recursive: true });
  renameSync(tmp, dir);
  return dir;
}
