/** `gantry doctor` on an ssh target: every host, at once, each check naming the host and the fix. */
import { GantryError } from '../../core/errors.js';
import type { DoctorCheck, TargetContext } from '../../engine/target.js';
import type { SshConfig } from './config.js';
import { checkHost } from './host-check.js';
import { checkNginx } from './nginx-host.js';
import { SshPool } from './pool.js';

export async function checkHosts(ctx: TargetContext<SshConfig>, minNode: string): Promise<DoctorCheck[]> {
  const cfg = ctx.config;
  let pool: SshPool;
  try {
    pool = await SshPool.fromConfig(cfg, { baseDir: ctx.appDir, ...(ctx.readSecret ? { readSecret: ctx.readSecret } : {}) });
  } catch (e) {
    return [{ name: 'ssh: credentials', ok: false, detail: (e as Error).message, hint: (e as GantryError).hint ?? 'check `key` in the target' }];
  }
  try {
    const perHost = await Promise.all(
      cfg.hosts.map(async (h): Promise<DoctorCheck[]> => {
        try {
          const conn = await pool.connect(h);
          return [
            { name: `${h.name}: ssh`, ok: true, detail: `logged in as ${conn.endpoint.user}, host key known` },
            ...(await checkHost(conn, minNode)),
            ...(cfg.reverse_proxy === 'nginx' ? await checkNginx(conn, cfg.tls ? { tls: cfg.tls } : {}) : []),
          ];
        } catch (e) {
          return [{ name: `${h.name}: ssh`, ok: false, detail: (e as Error).message, hint: e instanceof GantryError && e.hint ? e.hint : 'check that the host is up and sshd answers' }];
        }
      }),
    );
    return perHost.flat();
  } finally {
    await pool.closeAll();
  }
}
