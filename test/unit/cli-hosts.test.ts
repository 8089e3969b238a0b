/** The terminal's per-node views: a log line's time, node and instance before its text; status instances under their node. */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { formatLogLine, hostsOf, instanceLines, withHostOption } from '../../dist/cli/hosts.js';

describe('cli --host views', () => {
  it('a log line keeps its timestamp (--timestamps) and is prefixed with its node (none on a one-place target)', () => {
    expect(formatLogLine({ at: '2026-01-02T03:04:05.678Z', node: 'web1', instance: 'i-1', stream: 'out', text: 'listening on 3000' }, { timestamps: true })).toBe('2026-01-02T03:04:05.678Z web1 i-1 listening on 3000');
    expect(formatLogLine({ at: '2026-01-02T03:04:05.678Z', instance: 'i-1', stream: 'out', text: 'x' }, { timestamps: true })).toBe('2026-01-02T03:04:05.678Z i-1 x');
    // Without --timestamps: no time; Gantry's supervisor lines marked as such.
    expect(formatLogLine({ at: '2026-01-02T03:04:05.678Z', node: 'web1', instance: 'i-1', stream: 'out', text: 'listening on 3000' })).toBe('web1 i-1 listening on 3000');
    expect(formatLogLine({ at: '2026-01-02T03:04:05.678Z', instance: 'i-1', stream: 'sys', text: 'started pid 7' })).toBe('i-1 [gantry] started pid 7');
  });

  it('--host is repeatable and takes comma lists', () => {
    const cmd = withHostOption(new Command('x').exitOverride(), 'only this host');
    cmd.parse(['--host', 'web1,web2', '--host', ' web3 '], { from: 'user' });
    expect(hostsOf(cmd.opts())).toEqual(['web1', 'web2', 'web3']);
    expect(hostsOf({})).toBeUndefined();
  });

  it('status instances are grouped under their node, with its state and whether it is held', () => {
    const inst = (id: string, node: string) => ({ id, node, release: 'r', healthy: true, routed: true, url: '', state: 'running', restarts: 0 });
    const lines = instanceLines(
      { target: 'fleet', type: 't', state: 'running', desired: { state: 'running', instances: 1, by: 'manifest' }, instances: [inst('a', 'web1'), inst('b', 'web2')], nodes: [{ node: 'web1', state: 'running', held: false, instances: 1, serving: 1 }, { node: 'web2', state: 'stopped', held: true, instances: 0, serving: 0 }] },
      (i) => i.id,
    );
    expect(lines[0]).toBe('  web1: running, 1/1 serving');
    expect(lines[1]).toBe('    a');
    expect(lines[2]).toMatch(/^ {2}web2: stopped \(stopped with `gantry stop --host`.*gantry start --host web2`\), 0\/0 serving$/);
  });
});
