import { statSync } from 'node:fs';
import type { DoctorCheck } from '../../engine/target.js';
import type { SshConnection } from './connection.js';
import { atLeast, parseNodeVersion } from './host-node.js';

/**
 * What the node agent needs on a host, checked over an open connection (for `gantry
 * doctor`): systemd as PID 1, a login allowed to manage system units (root for now), and a
 * Node to run the agent: the host's own when new enough, else Gantry brings its own (not a
 * failure, said so). Each check names the host and how to fix what is missing.
 */
export async function checkHost(conn: SshConnection, minNode: string): Promise<DoctorCheck[]> {
  const host = conn.label;
  const out = (r: { stdout: Buffer }) => r.stdout.toString('utf8').trim();
  const checks: DoctorCheck[] = [];

  const init = await conn.exec(['sh', '-c', 'cat /proc/1/comm; systemctl --version | head -n 1']);
  const [pid1, version] = out(init).split('\n');
  checks.push(
    pid1 === 'systemd' && version?.startsWith('systemd')
      ? { name: `${host}: systemd`, ok: true, detail: version }
      : { name: `${host}: systemd`, ok: false, detail: `PID 1 is ${pid1 || 'unknown'}${version ? ` (${version})` : ', no systemctl'}`, hint: 'the ssh target runs the agent and each instance as systemd units: use a host booted with systemd' },
  );

  const uid = out(await conn.exec(['id', '-u']));
  checks.push(
    uid === '0'
      ? { name: `${host}: login`, ok: true, detail: `${conn.endpoint.user} (root) can manage system units` }
      : { name: `${host}: login`, ok: false, detail: `${conn.endpoint.user} is not root (uid ${uid})`, hint: 'log in as root (user: root in the target), which installs and starts system units' },
  );

  const node = await conn.exec(['sh', '-c', 'command -v node >/dev/null || exit 3; node --version']);
  const v = node.code === 0 ? parseNodeVersion(out(node)) : undefined;
  const min = parseNodeVersion(minNode)!;
  checks.push(
    v && atLeast(v, min)
      ? { name: `${host}: node`, ok: true, detail: `the agent runs on the host's node ${out(node)}` }
      : { name: `${host}: node`, ok: true, detail: `${v ? `the host's node ${out(node)} is older than ${minNode}` : 'no node on the host'}: Gantry uploads its own Node ${process.version} (once, ${Math.round(statSync(process.execPath).size / 1e6)} MB)`, hint: `to use the host's own, install Node >= ${minNode} there` },
  );

  const arch = out(await conn.exec(['uname', '-m']));
  const local = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;
  if (!(v && atLeast(v, min)) && arch !== local) {
    checks.push({ name: `${host}: architecture`, ok: false, detail: `the host is ${arch}, this machine ${local}: Gantry's own Node cannot run there`, hint: `install Node >= ${minNode} on the host` });
  }
  return checks;
}
