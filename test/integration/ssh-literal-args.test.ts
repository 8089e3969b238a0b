/**
 * What Gantry hands to systemd on an ssh host reaches the program as written: systemd expands
 * `$VAR` / `${VAR}` in a unit's command line (also a transient one from systemd-run) before the
 * program runs, so run.command and the hooks (pre_deploy, post_deploy) must arrive with their
 * `$` as the shell would see them. One real systemd host; the app and the hooks echo their argv.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyExample, gantry } from '../helpers/cli.js';
import { get } from '../helpers/http.js';
import { sshHostsProblem, startSshHosts, type TestHosts } from '../helpers/ssh-hosts.js';

const APP = 'ssh-literal-args';
const PORT = 18_099;
// Single-quoted in the shell command: the shell passes them on untouched, so must systemd.
const LITERALS = ['$HOME', '${X}', '%h', '100%', '$$', 'a$'];
const sq = (s: string): string => `'${s}'`;
const describeHosts = sshHostsProblem ? describe.skip : describe;
if (sshHostsProblem) console.warn(`ssh-literal-args tests skipped: ${sshHostsProblem}`);

let fleet: TestHosts;
let dir: string;
const EXPECTED = { args: LITERALS, x: 'from-env' };

// In the manifest, `$${` is Gantry's own literal `${` (it interpolates ${VAR} itself).
const cmd = (mode: string): string => `X_SEEN="$X" exec node argv.js ${mode} ${LITERALS.map(sq).join(' ')}`.replace(/\$\{/g, () => '$${');

function writeManifest(hooks: boolean): void {
  writeFileSync(
    join(dir, 'gantry.yaml'),
    [
      `app: ${APP}`,
      `run: { command: ${JSON.stringify(cmd('serve'))}, instances: 1 }`,
      hooks ? `hooks: { pre_deploy: ${JSON.stringify(cmd('pre'))}, post_deploy: ${JSON.stringify(cmd('post'))} }` : '',
      'health: { path: /, interval: 500ms, start_period: 20s }',
      'env: { X: from-env }',
      'targets:',
      '  host:',
      '    type: ssh',
      `    hosts: [${fleet.hosts.map((h) => `"root@${h.ip}"`).join(', ')}]`,
      `    key: ${fleet.key.file}`,
      `    known_hosts: ${join(fleet.dir, 'known_hosts')}`,
      `    port: ${PORT}`,
    ].join('\n'),
  );
}

// Serves its own argv (and X from its environment, expanded by the shell) as JSON; as a hook
// (argv[2] = the hook's name) it writes the same into a file in the release directory.
const ARGV_APP = `const http = require('node:http');
const fs = require('node:fs');
const [mode, ...args] = process.argv.slice(2);
const seen = JSON.stringify({ args, x: process.env.X_SEEN });
if (mode !== 'serve') { fs.writeFileSync(mode + '.json', seen); process.exit(0); }
http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(seen); }).listen(Number(process.env.PORT), process.env.HOST);
`;

describeHosts('arguments reach programs literally on ssh hosts (systemd does not expand them)', () => {
  beforeAll(async () => {
    fleet = await startSshHosts(1, { tag: 'sshliteral' });
    writeFileSync(join(fleet.dir, 'known_hosts'), fleet.hosts.map((h) => h.knownHostsLines()).join(''));
    dir = copyExample('hello-node');
    writeFileSync(join(dir, 'argv.js'), ARGV_APP);
  }, 180_000);

  afterAll(async () => {
    await fleet?.remove();
  }, 60_000);

  it("run.command gets $HOME, ${X}, %h, 100% and $$ as written; \"$X\" is still the shell's", async () => {
    writeManifest(false);
    const d = await gantry(['deploy', '--json'], { cwd: dir, timeoutMs: 300_000 });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(JSON.parse((await get(`http://${fleet.hosts[0]!.ip}:${PORT}/`)).body)).toEqual(EXPECTED);
  }, 400_000);

  it('pre_deploy (before any instance of the new release: in its directory, brought to the host first) and post_deploy get them as written too', async () => {
    writeManifest(true);
    const d = await gantry(['deploy', '--json'], { cwd: dir, timeoutMs: 300_000 });
    expect(d.code, d.stdout + d.stderr).toBe(0);
    const h = fleet.hosts[0]!;
    const releaseDir = `/opt/gantry/${APP}/releases/${d.json.release}`;
    for (const hook of ['pre', 'post']) expect(JSON.parse(await h.exec('cat', `${releaseDir}/${hook}.json`)), hook).toEqual(EXPECTED);
    expect(JSON.parse((await get(`http://${h.ip}:${PORT}/`)).body)).toEqual(EXPECTED);
  }, 400_000);
});
