/**
 * Issue 16, fan-out under load: a request to a remote agent whose connection breaks
 * before the answer (an SSH channel closed under it; seen once in a 30-host deploy on
 * 2 shared cores) is sent again once on a new connection, and the agent starts the
 * instance once. A real agent on 127.0.0.1 behind a real TCP hop that breaks the
 * first connection after passing the request on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent as UndiciAgent } from 'undici';
// The built code: the agent is spawned from dist/agent/main.js.
import { AgentClient } from '../../dist/agent/client.js';
import { pidAlive as alive } from '../../dist/core/pid.js';

const dir = mkdtempSync(join(tmpdir(), 'gantry-agent-resend-'));
const agentDir = join(dir, 'agent');
let local: AgentClient;
let hop: Server;
let hopPort = 0;
/** Connections the hop took, and how many it broke (the first that carried a POST). */
const seen = { connections: 0, broken: 0, posts: 0 };

/** An undici dispatcher whose connections go to 127.0.0.1:port, handed over once connected (as a forwarded channel is). */
function dispatcherTo(port: number): UndiciAgent {
  return new UndiciAgent({
    connect: (_o, cb) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => cb(null, s as never));
      s.once('error', (e) => cb(e, null));
    },
  });
}

/** Passes bytes both ways to the agent; the first connection carrying a POST is cut as the answer starts to come back. */
function startHop(adminPort: number): Promise<void> {
  hop = createServer((client: Socket) => {
    seen.connections++;
    const upstream = connect(adminPort, '127.0.0.1');
    let post = false;
    client.on('data', (d) => {
      if (d.toString('latin1').startsWith('POST ')) {
        post = true;
        seen.posts++;
      }
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (post && seen.broken === 0) {
        seen.broken++;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((r) => hop.listen(0, '127.0.0.1', () => ((hopPort = (hop.address() as { port: number }).port), r())));
}

beforeAll(async () => {
  writeFileSync(join(dir, 'server.js'), "require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');\nprocess.on('SIGTERM', () => process.exit(0));\n");
  local = await AgentClient.ensure(agentDir, { host: '127.0.0.1', port: 0 });
  await startHop(local.info.adminPort);
});


afterAll(async () => {
  hop?.close();
  // The agent (and its instance) stop before their dir goes: then wait for its exit, by its pid.
  if (local) {
    await local.call('POST', '/v1/shutdown', { timeoutMs: 2_000 }).catch(() => undefined);
    for (let i = 0; i < 100 && alive(local.info.pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(local.info.pid)) process.kill(local.info.pid, 'SIGKILL');
  }
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('a remote agent call whose connection breaks before the answer', () => {
  it('is sent once more on a new connection, and the instance is started once', { timeout: 60_000 }, async () => {
    const dispatcher = dispatcherTo(hopPort);
    const remote = await AgentClient.remote(agentDir, local.info, { dispatcher, gone: async () => false, logHint: 'the test hop', where: 'test-hop' });
    const spec = { id: 'resend-1', release: 'r1', cwd: dir, command: 'node server.js', env: { PATH: process.env.PATH! }, logFile: join(dir, 'resend-1.log') };
    const state = await remote.startInstance(spec);
    expect(state.id).toBe('resend-1');
    expect(seen).toMatchObject({ broken: 1, posts: 2 });
    const list = (await local.call<Array<{ id: string; pid?: number }>>('GET', '/v1/instances')).filter((i) => i.id === 'resend-1');
    expect(list).toHaveLength(1);
    expect(list[0]!.pid).toBe(state.pid);
    await dispatcher.close();
  });

  it('a connection refused is not sent again: it fails naming where', { timeout: 30_000 }, async () => {
    const closed = createServer();
    const port = await new Promise<number>((r) => closed.listen(0, '127.0.0.1', () => r((closed.address() as { port: number }).port)));
    await new Promise((r) => closed.close(r));
    const dispatcher = dispatcherTo(port);
    const err = await AgentClient.remote(agentDir, local.info, { dispatcher, gone: async () => true, logHint: 'x', where: 'nowhere-host' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/the agent on nowhere-host did not answer GET \/v1\/ping: .*ECONNREFUSED/);
    expect((err as Error).message).not.toMatch(/sent twice/);
    await dispatcher.close();
  });
});
