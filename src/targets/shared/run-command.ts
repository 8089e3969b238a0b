import type { TargetProblem, ValidateContext } from '../../engine/target.js';

/**
 * A target that starts the app with run.command (process, ssh) cannot start an instance
 * without it: the manifest problem that says so, or none. `why` ends the message:
 * e.g. "needs the command that starts the app on each host".
 */
export function runCommandProblems(ctx: ValidateContext, type: string, why = 'needs the command that starts the app'): TargetProblem[] {
  if (ctx.run.command !== undefined) return [];
  return [
    {
      scope: 'manifest',
      path: ['run', 'command'],
      message: `missing run.command: the ${type} target "${ctx.targetName}" ${why}`,
      hint: 'add under run: command: "node server.js" (any command that starts the app listening on $PORT)',
    },
  ];
}
