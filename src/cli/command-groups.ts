/**
 * Which module defines which commands, so that a run loads only the module of the
 * command it runs: `gantry status` never loads the server, `gantry --version` loads
 * none of them (start-up time is most of a short command). Every group is loaded
 * when the command is not known here (help, a typo: commander then lists or
 * suggests every command). test/unit/cli-command-groups.test.ts keeps this table
 * equal to what each module registers.
 */
import type { Command } from 'commander';

type Register = (program: Command) => void;

export interface CommandGroup {
  /** The top-level commands the module registers, in its order. */
  commands: readonly string[];
  load: () => Promise<Register[]>;
}

/** In the order `gantry --help` lists them. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { commands: ['init'], load: async () => [(await import('./commands/init.js')).registerInit] },
  { commands: ['validate'], load: async () => [(await import('./commands/validate.js')).registerValidate] },
  {
    commands: ['deploy', 'plan', 'rollback', 'start', 'stop', 'restart', 'promote', 'abort', 'push', 'autoscaler'],
    load: async () => {
      const m = await import('./commands/lifecycle.js');
      return [m.registerLifecycle, m.registerCanaryControls, m.registerPush, m.registerAutoscaler];
    },
  },
  { commands: ['status', 'releases', 'logs', 'events', 'history'], load: async () => [(await import('./commands/inspect.js')).registerInspect] },
  { commands: ['scale', 'backup', 'backups', 'restore'], load: async () => [(await import('./commands/operate.js')).registerOperate] },
  { commands: ['secrets'], load: async () => [(await import('./commands/secrets.js')).registerSecrets] },
  { commands: ['exec', 'maintenance', 'destroy'], load: async () => [(await import('./commands/day2.js')).registerDay2] },
  { commands: ['env'], load: async () => [(await import('./commands/env.js')).registerEnv] },
  { commands: ['doctor'], load: async () => [(await import('./commands/doctor.js')).registerDoctor] },
  { commands: ['server', 'keys', 'audit'], load: async () => [(await import('./commands/server.js')).registerServer] },
];

/** Options of the program itself that take a value (`gantry -f x.yaml deploy`). */
const PROGRAM_VALUE_OPTIONS = new Set(['-f', '--file']);
/** Options of the program that need no command at all. */
const PROGRAM_FLAGS = new Set(['-V', '--version']);

/**
 * The groups to register for these arguments (process.argv without node and the script):
 * the command's group; none for `--version` alone; every group otherwise.
 */
export function groupsFor(args: readonly string[]): readonly CommandGroup[] {
  let versionOnly = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (PROGRAM_VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('--file=') || (a.startsWith('-f') && a.length > 2 && !a.startsWith('--'))) continue;
    if (PROGRAM_FLAGS.has(a)) {
      versionOnly = true;
      continue;
    }
    // Help, or an option commander must judge: every command, as before.
    if (a.startsWith('-')) return COMMAND_GROUPS;
    const group = COMMAND_GROUPS.find((g) => g.commands.includes(a));
    return group ? [group] : COMMAND_GROUPS;
  }
  return versionOnly ? [] : COMMAND_GROUPS;
}

/** Register the commands these arguments need on program, in the help's order. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const groups = groupsFor(args);
  const loaded = await Promise.all(groups.map((g) => g.load()));
  for (const registers of loaded) for (const register of registers) register(program);
}
