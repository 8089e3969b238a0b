/**
 * A proxy port Gantry picked itself can be taken before the agent binds it (seen in CI: another
 * test's connection got it as its local port, and a first deploy failed with PORT_IN_USE). The
 * router picks again; a port the manifest or an earlier deploy fixed is never changed silently.
 */
import { createServer, type Server } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentRouter, localAgentHost } from '../../dist/targets/shared/agent-router.js';
import { freePort } from '../../dist/agent/free-port.js';

const taken: Server[] = [];
const routers: AgentRouter[] = [];
const dirs: string[] = [];

async function occupied(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  taken.push(srv);
  return (srv.address() as { port: number }).port;
}

afterAll(async () => {
  for (const r of routers) await (r as unknown as { shutdown?: (ms: number) => Promise<void> }).shutdown?.(2_000).catch(() => undefined);
  for (const d of dirs) {
    const { AgentClient } = await import('../../dist/agent/client.js');
    const a = await AgentClient.find(d);
    if (a) process.kill(a.info.pid, 'SIGTERM');
  }
  for (const s of taken) s.close();
});

describe('the proxy port a first deploy picks', () => {
  it('is picked again when the picked port was taken before the agent bound it', async () => {
    const lost = await occupied();
    const dir = join(mkdtempSync(join(tmpdir(), 'gantry-router-')), 'agent');
    dirs.push(dir);
    let settings: Record<string, unknown> = {};
    const picks = [lost];
    const host = { ...localAgentHost(dir), freePort: async (h: string) => picks.shift() ?? freePort(h) };
    const router = new AgentRouter(host, { host: '127.0.0.1', settings: () => settings, saveSettings: (s) => (settings = s) });
    routers.push(router);
    const { url } = await router.ensureRouter();
    const port = Number(new URL(url).port);
    expect(port).not.toBe(lost);
    expect(settings.proxyPort).toBe(port);
  });

  it('a port the manifest names is not changed: PORT_IN_USE says so', async () => {
    const fixed = await occupied();
    const dir = join(mkdtempSync(join(tmpdir(), 'gantry-router-')), 'agent');
    dirs.push(dir);
    const router = new AgentRouter(dir, { host: '127.0.0.1', port: fixed, settings: () => ({}), saveSettings: () => undefined });
    await expect(router.ensureRouter()).rejects.toMatchObject({ code: 'PORT_IN_USE' });
  });
});
