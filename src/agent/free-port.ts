import { createServer } from 'node:net';

/** Ask the kernel for a free TCP port on host (bind to 0, read it, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** True when something already listens on host:port. */
export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(true));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

/**
 * A free port that is none of `taken()`: the ports this agent already gave its instances. A port
 * from freePort is closed again before the instance binds it, so the kernel may hand it out again
 * meanwhile; two instances given one port would pass each other's health gate while the second
 * crash-loops on EADDRINUSE (a 3-instance deploy "succeeded" with 2 serving).
 */
export async function freePortExcept(taken: () => ReadonlySet<number>, host = '127.0.0.1', pick: (host: string) => Promise<number> = freePort): Promise<number> {
  const maxAttempts = 20;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const port = await pick(host);
    if (!taken().has(port)) return port;
  }
  throw new Error(`no free port on ${host} that no instance of this agent holds, after ${maxAttempts} attempts`);
}
