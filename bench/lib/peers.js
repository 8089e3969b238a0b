// Peer proxies started by hand for the proxy section: the minimal Node proxy
// (always) and nginx (when installed).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { killPid, onCleanup } from './cleanup.js';
import { ROOT } from './gantry.js';

/** Start bench/peer-proxy.js on listenPort in front of upstreamPort; resolves { pid, url, stop }. */
export function startNodePeer(listenPort, upstreamPort) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'peer-proxy.js'), String(listenPort), String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
    const stop = onCleanup(`node peer proxy pid ${child.pid}`, () => (child.exitCode === null && child.signalCode === null ? killPid(child.pid, { graceMs: 2000 }) : undefined));
    const timer = setTimeout(() => void stop().then(() => reject(new Error('node peer proxy did not start'))), 10_000);
    child.stdout.once('data', () => {
      clearTimeout(timer);
      resolve({ pid: child.pid, url: `http://127.0.0.1:${listenPort}`, stop });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node peer proxy exited with ${code}`));
    });
  });
}
