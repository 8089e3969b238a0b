/**
 * Issue 18, durable jobs: the server is SIGKILLed (a real kill of the real process)
 * in the middle of a deploy it runs; started again on the same data dir, it takes
 * the job over when its lease runs out and the engine finishes it from its stored
 * plan: forward when traffic had moved (the watch), back when it had not. The
 * deployment ends consistent and ran once (no second engine deployment, no second release).
 */
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyExample } from '../helpers/cli.js';
import { getJson } from '../helpers/http.js';
import { api, killServerAgents, makeKey, readEvents, startServer, stopServer, waitFinal, type ServerProc } from '../helpers/server.js';

const APP = 'srvcrash-hello';
const LEASE = ['--lease', '2000', '--log-level', 'warn'];
let srv: ServerProc | undefined;
let dataDir: string | undefined;

afterAll(async () => {
  await stopServer(srv, 'SIGKILL');
  if (dataDir) killServerAgents(dataDir);
});

function engineDeployments(): Array<{ id: string; kind: string; status: string; release: string | null }> {
  const db = new Database(join(dataDir!, 'engine', 'state.db'), { readonly: true });
  try {
    return db.prepare("SELECT id, kind, status, release FROM deployments WHERE app = ? AND kind = 'deploy' ORDER BY created_at").all(APP) as never;
  } finally {
    db.close();
  }
}

describe('server SIGKILLed mid-deploy', () => {
  it('resumes a deploy killed in its watch (forward) and compensates one killed in its pre_deploy hook, before any switch (back); each ran once', { timeout: 300_000 }, async () => {
    const dir = copyExample('hello-node');
    let version = 0;
    // `hook`: a pre_deploy hook that takes a while, so a kill seen at that step lands there (before any switch).
    const manifest = (hook = false): void => writeFileSync(join(dir, 'gantry.yaml'), [`app: ${APP}`, 'run: { command: node server.js, instances: 1 }', 'health: { path: /health, interval: 500ms, start_period: 10s }', `env: { GREETING: "v${++version}" }`, 'strategy: { type: rolling, watch: 6s }', ...(hook ? ['hooks: { pre_deploy: "sleep 5" }'] : []), 'targets: { local: { type: process } }'].join('\n'));
    manifest();
    srv = await startServer({ args: LEASE });
    dataDir = srv.dataDir;
    const admin = await makeKey(srv.dataDir, 'admin');
    expect((await api(srv.url, 'POST', '/api/v1/projects', { token: admin, body: { id: 'crash' } })).status).toBe(201);
    expect((await api(srv.url, 'POST', '/api/v1/projects/crash/apps', { token: admin, body: { manifest_path: join(dir, 'gantry.yaml') } })).status).toBe(201);
    const base = await api(srv.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
    const baseDone = await waitFinal(srv.url, admin, base.body.id);
    expect(baseDone.status).toBe('succeeded');
    const url = baseDone.access_url as string;

    for (const c of [
      { killAt: 'watch', expect: 'succeeded' as const },
      { killAt: 'hook', expect: 'rolled_back' as const },
    ]) {
      manifest(c.killAt === 'hook');
      const before = engineDeployments().length;
      const serving = (await getJson(url + '/')).release as string;
      const d = await api(srv!.url, 'POST', `/api/v1/apps/${APP}/deployments`, { token: admin, body: {} });
      expect(d.status).toBe(202);
      const seen = await readEvents(`${srv!.url}/api/v1/deployments/${d.body.id}/events`, admin, { until: (e) => e.data?.step === c.killAt, maxMs: 60_000 });
      expect(seen.at(-1)?.data?.step, JSON.stringify(seen.map((e) => e.data?.step))).toBe(c.killAt);
      srv!.child.kill('SIGKILL');
      await srv!.exited;
      const running = engineDeployments();
      expect(running.length).toBe(before + 1);
      expect(running.at(-1)!.status).toBe('running');

      srv = await startServer({ dataDir, args: LEASE });
      const done = await waitFinal(srv.url, admin, d.body.id, 120_000);
      expect(done.status, JSON.stringify(done)).toBe(c.expect);
      expect(done.attempts).toBe(2);
      expect(done.engine_deployment_id).toBe(running.at(-1)!.id);
      // Ran once: the engine has no further deploy, and the interrupted one is finished.
      const after = engineDeployments();
      expect(after.length).toBe(before + 1);
      expect(after.at(-1)!.status).toBe(c.expect);
      const expectRelease = c.expect === 'succeeded' ? running.at(-1)!.release : serving;
      const st = await api(srv.url, 'GET', `/api/v1/apps/${APP}/status`, { token: admin });
      expect(st.body.targets[0]).toMatchObject({ state: 'running', release: expectRelease });
      expect(st.body.targets[0].instances.filter((i: any) => i.routed)).toHaveLength(1);
      expect((await getJson(url + '/')).release).toBe(expectRelease);
      // The events say what happened, after the kill too.
      const events = await readEvents(`${srv.url}/api/v1/deployments/${d.body.id}/events`, admin, { maxMs: 10_000 });
      expect(events.some((e) => e.data?.step === 'resume')).toBe(true);
      expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: c.expect } });
    }
  });
});
