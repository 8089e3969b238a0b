/**
 * Server-Sent Events: a deployment's steps (each event's id is its seq, so a client
 * reconnecting with Last-Event-ID gets only what it missed) and a log tail. A stream
 * ends when the deployment ends or the client goes away; it polls the store, so any
 * replica can serve it, and looks at once when the job changes in this process.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULTS } from '../../core/defaults.js';
import type { LoadedManifest } from '../../manifest/index.js';
import type { ServerContext } from '../context.js';
import { FINAL_STATES } from '../jobs/queue.js';

function open(req: FastifyRequest, reply: FastifyReply): { write(id: string | undefined, event: string, data: unknown): boolean; closed(): boolean; end(): void } {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let closed = false;
  req.raw.on('close', () => (closed = true));
  res.on('close', () => (closed = true));
  return {
    write(id, event, data) {
      if (closed) return false;
      return res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    closed: () => closed,
    end: () => {
      if (!closed) res.end();
    },
  };
}

export async function streamDeploymentEvents(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, jobId: string, after: number): Promise<void> {
  const s = open(req, reply);
  let last = after;
  try {
    while (!s.closed()) {
      // A change made in this process (the worker running the job here) ends the wait at once; another replica's, at the next poll.
      const watch = ctx.queue.watch(jobId, DEFAULTS.server.ssePollMs);
      const job = await ctx.queue.get(jobId);
      const events = await ctx.queue.events(jobId, last);
      for (const e of events) {
        s.write(String(e.seq), 'step', { seq: e.seq, at: e.at, level: e.level, step: e.step, message: e.message, data: e.data ? JSON.parse(e.data) : undefined });
        last = e.seq;
      }
      if (job && FINAL_STATES.includes(job.state) && events.length === 0) {
        watch.cancel();
        s.write(undefined, 'end', { id: job.id, status: job.state, access_url: job.access_url, external_id: job.external_id, error: job.error });
        break;
      }
      if (events.length === 0) await watch.changed;
      else watch.cancel();
    }
  } finally {
    s.end();
  }
}

export async function followLogs(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, loaded: LoadedManifest, target: string | undefined, lines: number): Promise<void> {
  const ac = new AbortController();
  const s = open(req, reply);
  req.raw.on('close', () => ac.abort());
  let n = 0;
  try {
    for await (const l of ctx.face.engine.logs(loaded, target, { lines, follow: true, signal: ac.signal })) {
      if (!s.write(String(++n), 'log', l) && s.closed()) break;
    }
  } catch (err) {
    if (!ac.signal.aborted) s.write(undefined, 'error', { message: (err as Error).message });
  } finally {
    ac.abort();
    s.end();
  }
}
