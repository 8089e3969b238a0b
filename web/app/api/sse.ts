/**
 * Server-Sent Events over fetch: EventSource cannot send an Authorization header,
 * and the key must never go in a URL. Reconnects (bounded) with Last-Event-ID.
 */
import { authHeaders } from './client';

export interface SseMessage {
  id?: string;
  event: string;
  data: any;
}

export interface SseOptions {
  onMessage(m: SseMessage): void;
  /** Called once when the stream has ended for good (`end` event, the server closed it, or it gave up). */
  onClose?(reason: 'end' | 'closed' | 'error', error?: string): void;
  /** Reconnect after a dropped connection (with Last-Event-ID). */
  resume?: boolean;
  maxRetries?: number;
}

export function openSse(path: string, opts: SseOptions): () => void {
  const ac = new AbortController();
  let lastId: string | undefined;
  let closed = false;
  const finish = (reason: 'end' | 'closed' | 'error', error?: string) => {
    if (closed) return;
    closed = true;
    opts.onClose?.(reason, error);
  };

  const run = async () => {
    for (let attempt = 0; !ac.signal.aborted; attempt++) {
      try {
        const res = await fetch(path, { headers: { ...authHeaders(), accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }, signal: ac.signal });
        if (!res.ok || !res.body) {
          finish('error', `${res.status} ${res.statusText}`);
          return;
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const m = parseBlock(buf.slice(0, i));
            buf = buf.slice(i + 2);
            if (!m) continue;
            if (m.id) lastId = m.id;
            opts.onMessage(m);
            if (m.event === 'end') {
              ac.abort();
              finish('end');
              return;
            }
          }
        }
        if (!opts.resume) {
          finish('closed');
          return;
        }
      } catch (err) {
        if (ac.signal.aborted) return;
        if (!opts.resume || attempt >= (opts.maxRetries ?? 5)) {
          finish('error', (err as Error).message);
          return;
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
    }
  };
  void run();
  return () => {
    closed = true;
    ac.abort();
  };
}

function parseBlock(block: string): SseMessage | undefined {
  const m: SseMessage = { event: 'message', data: undefined };
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) m.id = line.slice(3).trim();
    else if (line.startsWith('event:')) m.event = line.slice(6).trim();
    else if (line.startsWith('data:')) data += line.slice(5).trimStart();
  }
  if (!data) return m.event === 'message' ? undefined : m;
  try {
    m.data = JSON.parse(data);
  } catch {
    m.data = data;
  }
  return m;
}
