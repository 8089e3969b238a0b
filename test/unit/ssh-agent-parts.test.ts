import { describe, expect, it } from 'vitest';
import { envFileLine, systemdLiteral } from '../../src/agent/systemd-instances.js';
import { agentUnitText, differsOnlyInProxyPort, instanceUnitName } from '../../src/targets/ssh/agent-unit.js';
import { atLeast, parseNodeVersion } from '../../src/targets/ssh/host-node.js';
import { parseJournal } from '../../src/targets/ssh/journal.js';

describe('ssh agent parts', () => {
  it('writes env file values systemd reads back literally', () => {
    expect(envFileLine('A', 'x"y$z`q`\\w\'')).toBe('A="x\\"y\\$z\\`q\\`\\\\w\'"\n');
    expect(envFileLine('B', 'l1\nl2')).toBe('B="l1\nl2"\n');
    expect(() => envFileLine('1BAD', 'x')).toThrow(/not valid/);
    expect(() => envFileLine('A', 'x\0y')).toThrow(/NUL/);
  });

  it('compares Node versions', () => {
    expect(parseNodeVersion('v18.20.4\n')).toEqual([18, 20, 4]);
    expect(parseNodeVersion('node')).toBeUndefined();
    expect(atLeast([18, 20, 4], [20, 18, 0])).toBe(false);
    expect(atLeast([20, 18, 0], [20, 18, 0])).toBe(true);
    expect(atLeast([20, 20, 2], [20, 18, 0])).toBe(true);
    expect(atLeast([22, 0, 0], [20, 18, 0])).toBe(true);
  });

  it('names units and writes the agent unit without rlimits', () => {
    expect(instanceUnitName('hello', 'abc-0-x1')).toBe('gantry-hello@abc-0-x1.service');
    const text = agentUnitText({ root: '/opt/gantry', app: 'hello' }, { node: '/usr/bin/node', bundle: '/opt/gantry/.gantry/agent/h/gantry-agent.mjs', proxyHost: '0.0.0.0', proxyPort: 8080 });
    expect(text).toContain('ExecStart=/usr/bin/node /opt/gantry/.gantry/agent/h/gantry-agent.mjs --dir /opt/gantry/hello/agent --host 0.0.0.0 --port 8080 --backend systemd --unit-prefix gantry-hello@');
    expect(text).toContain('Restart=on-failure');
    expect(text).not.toMatch(/^Limit/m);
  });

  it("escapes what systemd would expand: % and $ in the unit file's ExecStart, $ in systemd-run's command", () => {
    const text = agentUnitText({ root: '/opt/gantry', app: 'hello' }, { node: '/opt/n%h/$HOME/node', bundle: '/b.mjs', proxyHost: '0.0.0.0', proxyPort: 8080 });
    expect(text).toContain('ExecStart=/opt/n%%h/$$HOME/node /b.mjs --dir');
    expect(systemdLiteral("echo '$HOME' ${X} %h 100% $$")).toBe("echo '$$HOME' $${X} %h 100% $$$$");
  });

  it('reads journald entries of instance units, systemd\'s own lines as sys', () => {
    const entries = [
      { __CURSOR: 'c1', __REALTIME_TIMESTAMP: '1796132838818186', MESSAGE: 'listening', PRIORITY: '6', _PID: '42', _SYSTEMD_UNIT: 'gantry-hello@a-0-x.service' },
      { __CURSOR: 'c2', __REALTIME_TIMESTAMP: '1796132838818999', MESSAGE: 'Main process exited', PRIORITY: '4', _PID: '1', UNIT: 'gantry-hello@a-0-x.service', _SYSTEMD_UNIT: 'init.scope' },
      { __CURSOR: 'c3', MESSAGE: [104, 105], _PID: '43', _SYSTEMD_UNIT: 'gantry-hello@b-1-y.service', PRIORITY: '3' },
      { __CURSOR: 'c4', MESSAGE: 'other app', _PID: '44', _SYSTEMD_UNIT: 'gantry-hello-x@c.service' },
    ];
    const { lines, cursor } = parseJournal(entries.map((e) => JSON.stringify(e)).join('\n'), 'gantry-hello@');
    expect(cursor).toBe('c4');
    expect(lines).toEqual([
      { at: '2026-12-01T13:47:18.818Z', instance: 'a-0-x', stream: 'out', text: 'listening' },
      { at: '2026-12-01T13:47:18.818Z', instance: 'a-0-x', stream: 'sys', text: 'Main process exited' },
      { instance: 'b-1-y', stream: 'err', text: 'hi' },
    ]);
  });

  it('a unit that differs only in the proxy port needs no agent restart; any other change does', () => {
    const unit = (o: { port?: number; host?: string; bundle?: string }) => agentUnitText({ root: '/opt/gantry', app: 'hello' }, { node: '/usr/bin/node', bundle: o.bundle ?? '/opt/gantry/.gantry/agent/h/gantry-agent.mjs', proxyHost: o.host ?? '0.0.0.0', proxyPort: o.port ?? 8080 });
    expect(differsOnlyInProxyPort(unit({}), unit({ port: 8081 }))).toBe(true);
    expect(differsOnlyInProxyPort(unit({}), unit({}))).toBe(false);
    expect(differsOnlyInProxyPort(unit({}), unit({ host: '127.0.0.1' }))).toBe(false);
    expect(differsOnlyInProxyPort(unit({}), unit({ port: 8081, bundle: '/opt/gantry/.gantry/agent/other/gantry-agent.mjs' }))).toBe(false);
  });
});
