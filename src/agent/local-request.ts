/**
 * One HTTP request to the local agent's admin API on loopback, with Node's own HTTP client:
 * loading undici (what a remote agent's SSH channels need) and compiling its WebAssembly
 * parser cost a CLI command ≈ 80 ms before its first call to the agent on this machine.
 * Connections are kept alive between the calls of one command; idle ones do not keep
 * the process running (Node's agent unrefs its free sockets).
 */
import { Agent, request } from 'node:http';

const keepAlive = new Agent({ keepAlive: true, maxSockets: 16 });

export interface LocalAnswer {
  statusCode: number;
  text: string;
}

export interface LocalRequest {
  port: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** No byte of the answer for this long (headers or body): the request fails. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export function localRequest(r: LocalRequest): Promise<LocalAnswer> {
  return new Promise((resolve, reject) => {
    const headers = r.body === undefined ? r.headers : { ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) };
    const req = request({ host: '127.0.0.1', port: r.port, method: r.method, path: r.path, headers, agent: keepAlive, signal: r.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ statusCode: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('close', () => {
        if (!res.complete) reject(Object.assign(new Error('the connection to the agent closed before its answer ended'), { code: 'ECONNRESET' }));
      });
    });
    req.setTimeout(r.timeoutMs, () => req.destroy(Object.assign(new Error(`no answer from the agent for ${r.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(r.body);
  });
}
