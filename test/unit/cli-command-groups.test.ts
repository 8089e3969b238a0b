/**
 * The CLI loads only the module of the command it runs (start-up time): the table of
 * which module registers which commands must stay what the modules really register,
 * and the CLI must still list, run and suggest every command.
 */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMAND_GROUPS, groupsFor } from '../../dist/cli/command-groups.js';
import { gantry } from '../helpers/cli.js';

const names = (groups: readonly { commands: readonly string[] }[]) => groups.flatMap((g) => g.commands);

describe('CLI command groups', () => {
  it('each group lists exactly the commands its module registers, and no command is in two groups', async () => {
    for (const group of COMMAND_GROUPS) {
      const program = new Command('gantry');
      for (const register of await group.load()) register(program);
      expect(program.commands.map((c) => c.name())).toEqual(group.commands);
    }
    const all = names(COMMAND_GROUPS);
    expect(new Set(all).size).toBe(all.length);
  });

  it('picks the command after the program options; every group for help, unknown words and other options; none for --version alone', () => {
    expect(names(groupsFor(['deploy', '--json']))).toContain('deploy');
    expect(groupsFor(['deploy'])).toHaveLength(1);
    expect(names(groupsFor(['-f', 'x.yaml', 'status']))).toEqual(['status', 'releases', 'logs', 'events', 'history']);
    expect(names(groupsFor(['--file', 'rollback', 'events']))).toContain('events');
    expect(names(groupsFor(['--file=x.yaml', 'keys', 'list']))).toEqual(['server', 'keys', 'audit']);
    expect(names(groupsFor(['-fx.yaml', 'env', 'set', 'A=1']))).toEqual(['env']);
    expect(groupsFor(['--version'])).toEqual([]);
    expect(groupsFor(['-V'])).toEqual([]);
    for (const args of [[], ['--help'], ['help', 'deploy'], ['deplyo'], ['--bogus', 'deploy'], ['-f', 'x.yaml']]) expect(groupsFor(args)).toBe(COMMAND_GROUPS);
  });

  it('the built CLI still lists every command, suggests on a typo, and runs one command alone', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'gantry-cmd-groups-'));
    const help = await gantry(['--help'], { cwd });
    expect(help.code).toBe(0);
    for (const name of names(COMMAND_GROUPS).filter((n) => n !== 'autoscaler')) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const typo = await gantry(['deplyo'], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/unknown command 'deplyo'[\s\S]*deploy/);
    const version = await gantry(['--version'], { cwd });
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const sub = await gantry(['-f', join(cwd, 'none.yaml'), 'deploy', '--help'], { cwd });
    expect(sub.code).toBe(0);
    expect(sub.stdout).toMatch(/--dry-run/);
    const missing = await gantry(['-f', join(cwd, 'none.yaml'), 'status', '--json'], { cwd });
    expect(missing.code).toBe(2);
  });
});
