/**
 * Issue 15: the manifest's strategy.stop_timeout is honoured on every path that
 * stops instances. Regression: a failed first deploy shut its instances down
 * with the built-in 10 s instead of the manifest's value (as did reconcile and
 * restore), so an app that ignores SIGTERM held the deploy 10 s.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gantry, killAgents } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gantry-stop-timeout-'));
afterAll(async () => {
  await gantry(['stop'], { cwd: dir }).catch(() => undefined);
  killAgents(dir);
});

/** Every line the instances' logs hold (the supervisor writes its own lines there too). */
function instanceLogs(): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.log') && !e.name.endsWith('.build.log')) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(join(dir, '.gantry'));
  return out.join('\n');
}

describe('strategy.stop_timeout', () => {
  it('a failed first deploy stops its instances with the manifest stop_timeout, not the built-in one', async () => {
    // Never healthy, and ignores SIGTERM: only SIGKILL after stop_timeout ends it. The start period outlasts the app's own
    // start on a loaded machine: stopped before it set its SIGTERM handler, it would just die.
    writeFileSync(join(dir, 'server.cjs'), "process.on('SIGTERM', () => console.log('ignoring SIGTERM'));\nrequire('node:http').createServer((req, res) => { res.writeHead(500); res.end('never healthy'); }).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));\n");
    writeFileSync(
      join(dir, 'gantry.yaml'),
      ['app: stop-timeout-app', 'run: { command: node server.cjs }', 'health: { path: /health, start_period: 5s, interval: 200ms, timeout: 1s, retries: 1 }', 'strategy: { stop_timeout: 1s }', 'targets: { local: { type: process } }'].join('\n'),
    );
    const d = await gantry(['deploy', '--json'], { cwd: dir });
    expect(d.code, d.stdout + d.stderr).toBe(1);
    expect(d.json.status).toBe('failed');
    // The agent may still be stopping when the CLI returns on a loaded machine: wait (bounded) for its verdict.
    let logs = instanceLogs();
    for (let i = 0; i < 120 && !/still running after \d+ms/.test(logs); i++) {
      await new Promise((r) => setTimeout(r, 500));
      logs = instanceLogs();
    }
    expect(logs).toContain('ignoring SIGTERM');
    expect(logs.match(/still running after \d+ms/g)).toEqual(['still running after 1000ms']);
  });
});
