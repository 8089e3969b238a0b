import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateManifestSource } from '../../src/manifest/load.js';
import { sshConfigSchema } from '../../src/targets/ssh/config.js';
import { parseHostString } from '../../src/targets/ssh/host-spec.js';
import { quoteArg, remoteCommandLine } from '../../src/targets/ssh/remote-command.js';
import { execFileSync } from 'node:child_process';

const tmp = mkdtempSync(join(tmpdir(), 'gantry-ssh-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function check(targetYaml: string) {
  const source = `app: a\ntargets:\n  fleet:\n    type: ssh\n${targetYaml}`;
  return validateManifestSource(source, join(tmp, 'gantry.yaml'), { knownTargetTypes: ['ssh'], targetSchemas: (t) => (t === 'ssh' ? sshConfigSchema : undefined) });
}

describe('ssh target config', () => {
  it('applies the defaults and normalizes hosts written "user@host[:port]" or as objects', () => {
    const c = sshConfigSchema.parse({ hosts: ['deploy@10.0.0.5', 'web2.example.com:2222', 'ops@[2001:db8::1]:22', { host: '10.0.0.9', user: 'root', name: 'db' }], bastion: 'jump@bastion.example.com' });
    expect(c.hosts).toEqual([
      { name: '10.0.0.5', host: '10.0.0.5', port: 22, user: 'deploy' },
      { name: 'web2.example.com:2222', host: 'web2.example.com', port: 2222 },
      { name: '[2001:db8::1]', host: '2001:db8::1', port: 22, user: 'ops' },
      { name: 'db', host: '10.0.0.9', port: 22, user: 'root' },
    ]);
    expect(c).toMatchObject({ path: '/opt/gantry', parallel: 32, trust_on_first_use: false, agent: true, reverse_proxy: 'none', connect_timeout: 10_000, command_timeout: 300_000, bastion: { host: 'bastion.example.com', port: 22, user: 'jump' } });
    expect(sshConfigSchema.parse({ hosts: ['h'], key: '~/.ssh/deploy', connect_timeout: '3s', command_timeout: 90 })).toMatchObject({ key: { file: '~/.ssh/deploy' }, connect_timeout: 3_000, command_timeout: 90_000 });
    expect(sshConfigSchema.parse({ hosts: ['h'], key: { secret: 'DEPLOY_KEY' } }).key).toEqual({ secret: 'DEPLOY_KEY' });
  });

  it('reports each mistake at its file, line and path, with a clear message', () => {
    const r = check(
      [
        '    hosts:',
        '      - "deploy@10.0.0.5:99999"',
        '      - "bad host@x"',
        '      - "deploy@10.0.0.5"',
        '      - "deploy@10.0.0.5"',
        '    path: relative/dir',
        '    parallel: 0',
        '    reverse_proxy: apache',
        '    connect_timeout: soon',
        '    key: { secret: lower }',
        '    trust_on_first_use: yes please',
        '',
      ].join('\n'),
    );
    expect(r.problems.map((p) => [p.path, p.line, p.message])).toEqual([
      ['targets.fleet.hosts[0]', 6, 'invalid port "99999" in "deploy@10.0.0.5:99999": expected 1-65535'],
      ['targets.fleet.hosts[1]', 7, 'invalid user name "bad host" in "bad host@x"'],
      ['targets.fleet.path', 10, 'path is an absolute directory such as "/opt/gantry" (letters, digits, ".", "_", "-")'],
      ['targets.fleet.parallel', 11, 'must be at least 1, found 0'],
      ['targets.fleet.reverse_proxy', 12, 'expected one of "none", "nginx", found the string "apache"'],
      ['targets.fleet.connect_timeout', 13, 'invalid connect_timeout "soon": expected "500ms", "30s", "5m", "1h" or a number of seconds (more than 0)'],
      ['targets.fleet.key.secret', 14, 'a secret name is UPPER_SNAKE_CASE, as `gantry secrets set` takes it'],
      ['targets.fleet.trust_on_first_use', 15, 'expected true or false, found the string "yes please"'],
    ]);
    expect(r.problems[0]!.hint).toMatch(/user@host:port/);
    expect(r.problems[5]!.hint).toMatch(/SSH handshake and login/);
    expect(r.problems.every((p) => p.file === join(tmp, 'gantry.yaml'))).toBe(true);
  });

  it('a host listed twice, no hosts, and nginx-only settings without nginx are errors', () => {
    expect(check('    hosts: ["a@h1", "b@h1"]\n').problems.map((p) => [p.path, p.message])).toEqual([['targets.fleet.hosts[1]', 'host "h1" is listed twice (also at hosts[0])']]);
    expect(check('    hosts: []\n').problems.map((p) => [p.path, p.line, p.message])).toEqual([['targets.fleet.hosts', 5, 'must not be empty, found a list']]);
    expect(check('    hosts: [h]\n    tls: { certificate: /etc/ssl/a.pem, key: /etc/ssl/a.key }\n').problems.map((p) => [p.path, p.message])).toEqual([['targets.fleet.tls', 'tls needs reverse_proxy: nginx (nginx serves the certificate)']]);
    expect(check('    hosts: [h]\n    reverse_proxy: nginx\n    server_name: app.example.com\n    tls: { certificate: /etc/ssl/a.pem, key: /etc/ssl/a.key }\n').valid).toBe(true);
    expect(check('    hosts: [h]\n    hostz: [x]\n').problems.map((p) => [p.path, p.hint])).toEqual([['targets.fleet.hostz', 'did you mean "hosts"?']]);
  });

  it('host strings: nothing that could be read as an option or a shell word is a host', () => {
    for (const bad of ['-oProxyCommand=x', 'h;rm', 'h$(x)', 'a b', 'user@', '@h', 'h:0', 'h:22:33x', '[::1', 'h\n']) expect(typeof parseHostString(bad), bad).toBe('string');
    expect(parseHostString('root@[::1]:2222')).toEqual({ user: 'root', host: '::1', port: 2222 });
    expect(parseHostString('fe80::1')).toEqual({ user: undefined, host: 'fe80::1' });
  });
});

describe('remote command quoting', () => {
  const awkward = ['plain', 'a b', "it's", '"dq"', '$(id)', '`id`', '; rm -rf /', '*', '$HOME', 'x\ny', '', '\\', '~', "'", "''", '-n'];

  it('the remote shell gives each argument back literally (checked with a real POSIX shell and bash)', () => {
    for (const shell of ['sh', 'bash']) {
      const line = remoteCommandLine(['printf', '%s\\0', ...awkward]);
      const out = execFileSync(shell, ['-c', line]).toString();
      expect(out.split('\0').slice(0, -1), shell).toEqual(awkward);
    }
  });

  it('plain words stay readable, everything else is single-quoted; NUL is refused', () => {
    expect(quoteArg('/opt/gantry/app')).toBe('/opt/gantry/app');
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(remoteCommandLine(['systemctl', 'restart', 'gantry-app@1'])).toBe('exec systemctl restart gantry-app@1');
    expect(remoteCommandLine(['sleep', '5'], { killAfterMs: 2_500 })).toBe('exec timeout -s KILL 2.5s sleep 5');
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => remoteCommandLine([])).toThrow();
  });
});

describe('known_hosts', () => {
  it('matches plain, [host]:port, hashed (ssh-keygen -H), wildcard and negated entries; tells unknown, changed and revoked apart', async () => {
    const { verifyHostKey, knownKeyTypes, recordHostKey, readKnownHosts } = await import('../../src/targets/ssh/known-hosts.js');
    const key = (name: string) => {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(tmp, name)]);
      return Buffer.from(execFileSync('cat', [join(tmp, `${name}.pub`)]).toString().split(' ')[1]!, 'base64');
    };
    const [k1, k2, k3] = [key('k1'), key('k2'), key('k3')];
    const line = (pattern: string, k: Buffer) => `${pattern} ssh-ed25519 ${k.toString('base64')}\n`;
    const file = join(tmp, 'known_hosts');
    writeFileSync(file, `# comment\n${line('10.0.0.1,web1', k1)}${line('[10.0.0.2]:2222', k2)}${line('*.example.com,!evil.example.com', k3)}@revoked ${line('10.0.0.9', k3)}`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    writeFileSync(file, `${readFileSync(file, 'utf8')}garbage line\n`, { flag: 'w' });
    const text = readKnownHosts(file);
    expect(text).not.toContain('10.0.0.1'); // hashed by OpenSSH's own tool
    expect(verifyHostKey(text, '10.0.0.1', 22, k1).kind).toBe('match');
    expect(verifyHostKey(text, 'web1', 22, k1).kind).toBe('match');
    expect(verifyHostKey(text, '10.0.0.2', 2222, k2).kind).toBe('match');
    expect(verifyHostKey(text, '10.0.0.2', 22, k2).kind).toBe('unknown'); // another port is another host
    expect(verifyHostKey(text, '10.0.0.1', 22, k2).kind).toBe('changed');
    expect(verifyHostKey(text, 'a.example.com', 22, k3).kind).toBe('match');
    expect(verifyHostKey(text, 'evil.example.com', 22, k3).kind).toBe('unknown');
    expect(verifyHostKey(text, '10.0.0.9', 22, k3).kind).toBe('revoked');
    expect(verifyHostKey(text, '10.0.0.77', 22, k1).kind).toBe('unknown');
    expect(knownKeyTypes(text, '10.0.0.1', 22)).toEqual(['ssh-ed25519']);
    // Recorded entries are found by OpenSSH (hashed, port form for non-22).
    recordHostKey(file, '10.0.0.5', 2200, k2);
    expect(verifyHostKey(readKnownHosts(file), '10.0.0.5', 2200, k2).kind).toBe('match');
    expect(execFileSync('ssh-keygen', ['-F', '[10.0.0.5]:2200', '-f', file]).toString()).toContain(k2.toString('base64'));
  });
});
