import { randomBytes } from 'node:crypto';
import { envFileLine, systemdLiteral } from '../../agent/systemd-instances.js';
import type { SshConnection } from './connection.js';
import { writeRemoteFile } from './remote-files.js';

/**
 * A one-off command of a release on the host (hooks such as migrations): a transient
 * unit run to its end (`systemd-run --wait --pipe`) in the release directory, its
 * environment (secrets included) from an env file at 0600 removed afterwards, never on
 * a command line. `RuntimeMaxSec` ends it on the host when its time is up.
 */
export async function runRemoteTask(conn: SshConnection, t: { unitPrefix: string; envDir: string; cwd: string; command: string; env: Record<string, string>; timeoutMs: number }): Promise<{ exitCode: number; output: string }> {
  const name = `task-${randomBytes(4).toString('hex')}`;
  const unit = `${t.unitPrefix}${name}.service`;
  const envFile = `${t.envDir}/${name}.env`;
  await writeRemoteFile(conn, envFile, Object.entries(t.env).map(([k, v]) => envFileLine(k, v)).join(''), '600');
  try {
    const secs = Math.max(1, Math.ceil(t.timeoutMs / 1000));
    const r = await conn.exec(
      ['systemd-run', '--wait', '--pipe', '--collect', '--quiet', '--unit', unit, '--description', 'Gantry task', '--working-directory', t.cwd, '--property', `EnvironmentFile=${envFile}`, '--property', `RuntimeMaxSec=${secs}`, '--', '/bin/sh', '-c', systemdLiteral(t.command)],
      // A task (a migration) must not run twice when its session ends without a status.
      { timeoutMs: t.timeoutMs + 5_000, retryUnreported: false },
    );
    return { exitCode: r.code ?? 1, output: Buffer.concat([r.stdout, r.stderr]).toString('utf8') };
  } finally {
    await conn.exec(['rm', '-f', '--', envFile]).catch(() => undefined);
  }
}
