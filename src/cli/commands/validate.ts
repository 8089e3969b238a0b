import type { Command } from 'commander';
import { GantryError, type Problem } from '../../core/errors.js';
import { validateTargets } from '../../engine/index.js';
import { validateManifest } from '../../manifest/index.js';
import { registry } from '../../registry/index.js';
import { requireManifest } from '../context.js';
import { c, formatProblemLine } from '../output.js';
import { run, withGlobals } from './common.js';

export function registerValidate(program: Command): void {
  withGlobals(program.command('validate'))
    .description('check gantry.yaml: every problem with file, line, path and a hint; changes nothing')
    .addHelpText('after', '\nExamples:\n  gantry validate\n  gantry validate -f deploy/gantry.yaml --env production --json')
    .action(
      run(async (opts, out) => {
        const file = requireManifest(opts);
        const r = validateManifest(file, { env: opts.env, knownTargetTypes: registry.types(), targetSchemas: (t) => registry.configSchema(t), targetCapabilities: (t) => registry.describe(t)?.capabilities });
        if (opts.target !== undefined && r.manifest && !(opts.target in r.manifest.manifest.targets)) {
          throw new GantryError('TARGET_UNKNOWN', `no target named "${opts.target}" in ${file}`, `targets defined: ${Object.keys(r.manifest.manifest.targets).join(', ')}`);
        }
        // Then each target's own checks (needs of the manifest, live reachability), once the schema holds.
        const checked = r.manifest ? await validateTargets(registry, r.manifest, opts.target) : { errors: [], warnings: [] };
        const problems = [...r.problems, ...checked.errors];
        const valid = problems.length === 0;
        const shape = (p: Problem) => ({ path: p.path, message: p.message, hint: p.hint, file: p.file, line: p.line, column: p.column });
        const doc = { valid, problems: problems.map(shape), warnings: checked.warnings.map(shape) };
        const warningLines = checked.warnings.map((p) => `  ${c.yellow('warning:')} ${formatProblemLine(p)}`);
        out.result(doc, () => (valid ? [`${c.green('✓')} ${file} is valid`, ...warningLines] : [`${c.red('✗')} ${problems.length} problem(s) in ${file}:`, ...problems.map((p) => `  ${formatProblemLine(p)}`), ...warningLines]));
        return valid ? 0 : 2;
      }),
    );
}
