import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { GantryError } from '../../core/errors.js';
import { validateManifest } from '../../manifest/index.js';
import { registry } from '../../registry/index.js';
import { manifestPath } from '../context.js';
import { c, formatProblemLine } from '../output.js';
import { run, withGlobals } from './common.js';

export function registerValidate(program: Command): void {
  withGlobals(program.command('validate'))
    .description('check gantry.yaml: every problem with file, line, path and a hint; changes nothing')
    .addHelpText('after', '\nExamples:\n  gantry validate\n  gantry validate -f deploy/gantry.yaml --env production --json')
    .action(
      run(async (opts, out) => {
        const file = manifestPath(opts);
        if (!existsSync(file)) throw new GantryError('MANIFEST_NOT_FOUND', `no manifest at ${file}`, 'run `gantry init` to write one, or pass -f path/to/gantry.yaml');
        const r = validateManifest(file, { env: opts.env, knownTargetTypes: registry.types(), targetSchemas: (t) => registry.configSchema(t), targetCapabilities: (t) => registry.describe(t)?.capabilities });
        const doc = { valid: r.valid, problems: r.problems.map((p) => ({ path: p.path, message: p.message, hint: p.hint, file: p.file, line: p.line, column: p.column })) };
        out.result(doc, () => (r.valid ? [`${c.green('✓')} ${file} is valid`] : [`${c.red('✗')} ${r.problems.length} problem(s) in ${file}:`, ...r.problems.map((p) => `  ${formatProblemLine(p)}`)]));
        return r.valid ? 0 : 2;
      }),
    );
}
