/**
 * A live tail of an app's logs over SSE. Lines gather in a plain array (100,000 of
 * them must not be copied on every arrival) and the view is told about them at
 * most every `flushMs`; paused, they keep gathering and show on resume.
 */
import { useEffect, useRef, useState } from 'react';
import { enc } from '../api/client';
import { openSse } from '../api/sse';
import type { LogLine } from '../api/types';

export const MAX_LINES = 200_000;

export function useLogTail(app: string, target: string | undefined, opts: { paused: boolean; initial?: number; flushMs?: number }) {
  const lines = useRef<LogLine[]>([]);
  const [count, setCount] = useState(0);
  const [state, setState] = useState<'connecting' | 'live' | 'ended' | 'error'>('connecting');
  const [error, setError] = useState<string>();
  const paused = useRef(opts.paused);
  paused.current = opts.paused;

  useEffect(() => {
    lines.current = [];
    setCount(0);
    setState('connecting');
    let dirty = false;
    const q = new URLSearchParams({ follow: '1', lines: String(opts.initial ?? 200) });
    if (target) q.set('target', target);
    const close = openSse(`/api/v1/apps/${enc(app)}/logs?${q}`, {
      resume: false,
      onMessage: (m) => {
        if (m.event === 'log') {
          lines.current.push(m.data as LogLine);
          dirty = true;
        } else if (m.event === 'error') setError(m.data?.message);
      },
      onClose: (reason, e) => {
        setState(reason === 'error' ? 'error' : 'ended');
        if (e) setError(e);
        dirty = true;
      },
    });
    setState('live');
    const t = setInterval(() => {
      if (!dirty || paused.current) return;
      dirty = false;
      if (lines.current.length > MAX_LINES) lines.current.splice(0, lines.current.length - MAX_LINES);
      setCount(lines.current.length);
    }, opts.flushMs ?? 100);
    return () => {
      clearInterval(t);
      close();
    };
  }, [app, target, opts.initial, opts.flushMs]);

  return { lines: lines.current, count, state, error };
}

export function lineText(l: LogLine): string {
  return `${l.at ? `${l.at} ` : ''}${l.node ? `${l.node} ` : ''}${l.instance} ${l.stream === 'out' ? '' : `[${l.stream}] `}${l.text}`;
}
